"""What the README's "STAC extensions" section promises beyond its commands (which
tests/docs runs verbatim): the finding names the exact `schemas add` command, a named
directory must exist, and `--help`/`--version` import no linked-data library."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from stac_schemas_support import PROJ_120, needs_shared
from tests_support import PASS_DIR

pytestmark = needs_shared


def test_readme_validate_without_the_schema_names_the_add_command(tmp_path: Path,
                                                                  run_cli) -> None:  # type: ignore[no-untyped-def]
    ds = tmp_path / "datasets" / "ds"
    shutil.copytree(PASS_DIR / "kansas_river_gauges", ds)
    (tmp_path / ".git").mkdir()
    item_path = ds / "catalog/stac/items/gauges.json"
    item = json.loads(item_path.read_text())
    item["stac_extensions"] = [PROJ_120]
    item_path.write_text(json.dumps(item))
    r = run_cli("validate", "--spec", ds, "--format", "json")
    assert r.code == 1
    reasons = [x for g in json.loads(r.out)["gates"] for x in g["reasons"]
               if x["code"] == "D.stac_extension_unavailable"]
    assert len(reasons) == 1
    assert f"`kfm-promote schemas add --dir schemas/stac {PROJ_120}`" in reasons[0]["message"]
    r = run_cli("validate", "--spec", ds, "--schemas", tmp_path / "nope")
    assert r.code == 2 and "schema directory does not exist" in r.err


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_cli_start_does_not_import_linked_data_libraries(flag: str) -> None:
    code = ("import sys\nfrom promote_action.cli.main import main\n"
            f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('rdflib', 'pyshacl', 'pyld', 'prov', 'jsonschema', "
            "'referencing') if m in sys.modules]\nprint(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
