"""README "STAC extensions: `schemas add`": the block runs verbatim in a fresh repository
holding a dataset whose STAC item declares the projection extension, with only the
schema hosts replaced by a loopback server serving the same official files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from readme_harness import Shell, user_env
from stac_schemas.stac_schemas_support import EXT, PROJ_120, serve
from tests_support import PASS_DIR

from promote_action.stac_schemas.fetch import ALLOW_HTTP_ENV

SECTION = "STAC extensions: `schemas add`"


def test_stac_extensions_schemas_add(tmp_path: Path) -> None:
    if not EXT.is_dir():
        pytest.skip("shared STAC extension schemas are absent")
    repo = tmp_path / "repo"
    ds = repo / "datasets" / "kansas_river_gauges"
    shutil.copytree(PASS_DIR / "kansas_river_gauges", ds)
    item_path = ds / "catalog/stac/items/gauges.json"
    item = json.loads(item_path.read_text())
    item["stac_extensions"] = [PROJ_120]
    item["properties"]["proj:code"] = "EPSG:4326"
    item_path.write_text(json.dumps(item, indent=2))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    env = user_env(tmp_path / "home", **{ALLOW_HTTP_ENV: "1"})
    with serve(EXT) as (base, seen):
        sh = Shell(repo, env, urls={
            "https://stac-extensions.github.io/": f"{base}/",
            "https://proj.org/schemas/v0.7/": f"{base}/_referenced/proj-v0.7/",
            "https://geojson.org/schema/": f"{base}/_referenced/geojson/"})
        [steps] = sh.run_section(SECTION)
        assert len(seen) == 6  # three schemas added, the same three re-fetched by sync
    added = steps.find("schemas add")
    assert added.out.count("pinned ") == 3 and PROJ_120 in added.out
    assert "decision: PASS" in steps.find("kfm-promote validate").out
    assert steps.find("schemas sync").out.count("re-pinned ") == 3
    status = subprocess.run(["git", "status", "--porcelain", "schemas"], cwd=repo,
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""  # sync of unchanged upstream files changes nothing
