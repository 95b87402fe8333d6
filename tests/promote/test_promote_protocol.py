"""The protocol document, the policy data and the code agree on one allow-list."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ledger"))
from ledgerlib import REPO_ROOT

from promote_action.ledger.policy_paths import allowed_for, load_destinations
from promote_action.promote import destinations_for


def table() -> list[str]:
    data = json.loads((REPO_ROOT / "policy" / "data.json").read_text())
    return data["kfm"]["tables"]["destinations"]


def test_protocol_lists_exactly_the_policy_destinations():
    text = (REPO_ROOT / "policy" / "PROTOCOL.md").read_text()
    block = text.split("<!-- destinations:begin -->")[1].split("<!-- destinations:end -->")[0]
    assert re.findall(r"^- `([^`]+)`$", block, re.M) == table()


def test_code_reads_the_same_table():
    assert load_destinations() == table()


def test_every_requested_destination_is_allowed_and_others_are_not():
    pats = table()
    slug, version = "kansas_river_gauges", "2026-02.9d1f014ed6ed"
    for d in destinations_for(slug, version, ["catalog/dcat.jsonld"]):
        assert allowed_for(d, pats, slug, version), d
    for bad in ["README.md", "datasets/other_data/README.md", f"published/{slug}.json.bak",
                f"datasets/{slug}/2026-01.aaaaaaaaaaaa/manifest.json", "policy/data.json",
                f"datasets/{slug}/{version}/../../x", "refs/heads/main",
                f"refs/tags/kfm/{slug}/other"]:
        assert not allowed_for(bad, pats, slug, version), bad


def test_root_readme_is_the_shipped_auditor_doc():
    from promote_action.ledger.append import root_readme
    from promote_action.resources import data_root

    assert root_readme() == (data_root("ledger") / "README.md").read_bytes()
    assert b"(in progress)" not in root_readme()
