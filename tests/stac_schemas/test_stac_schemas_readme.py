"""The README's "STAC extensions: `schemas add`" commands, run verbatim in a fresh
repository, with only the schema hosts replaced by a loopback server holding the same
official files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from stac_schemas_support import EXT, PROJ_120, needs_shared, serve
from tests_support import PASS_DIR, REPO

from promote_action.stac_schemas.fetch import ALLOW_HTTP_ENV

pytestmark = needs_shared


def readme_block(heading: str) -> list[str]:
    """The shell commands of the first ```bash block under `heading` (continuations joined)."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(heading):]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip()
            and not line.lstrip().startswith("#")]


def test_readme_schemas_add_commands_run(tmp_path: Path) -> None:
    commands = readme_block("### STAC extensions: `schemas add`")
    assert any("schemas add" in c for c in commands)
    repo = tmp_path / "repo"
    ds = repo / "datasets" / "kansas_river_gauges"
    shutil.copytree(PASS_DIR / "kansas_river_gauges", ds)
    item_path = ds / "catalog/stac/items/gauges.json"
    item = json.loads(item_path.read_text())
    item["stac_extensions"] = [PROJ_120]
    item["properties"]["proj:code"] = "EPSG:4326"
    item_path.write_text(json.dumps(item, indent=2))
    bindir = Path(sys.executable).parent
    env = {**os.environ, ALLOW_HTTP_ENV: "1", "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with serve(EXT) as (base, seen):
        hosts = {"https://stac-extensions.github.io/": f"{base}/",
                 "https://proj.org/schemas/v0.7/": f"{base}/_referenced/proj-v0.7/",
                 "https://geojson.org/schema/": f"{base}/_referenced/geojson/"}
        for command in commands:
            for old, new in hosts.items():
                command = command.replace(old, new)
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=repo,
                                  env=env, capture_output=True, text=True, timeout=300,
                                  check=False)
            assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        assert len(seen) == 6  # three schemas added, then the same three re-fetched by sync
    lock = json.loads((repo / "schemas/stac/schemas.lock.json").read_text())["schemas"]
    assert PROJ_120 in lock
    status = subprocess.run(["git", "status", "--porcelain", "schemas"], cwd=repo,
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""  # sync of unchanged upstream files changes nothing


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
