"""SARIF, JUnit and pre-commit surfaces render the same findings as the JSON report."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

from tests_support import FAIL_DIR, PASS_DIR

FAILING = FAIL_DIR / "B-license_unclear"


def test_sarif_has_one_result_per_finding(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("validate", "--spec", FAILING, "--format", "sarif", "--engine", "embedded")
    assert r.code == 1
    sarif = json.loads(r.out)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    results = run["results"]
    assert results, "a failing dataset must produce results"
    assert all(res["ruleId"] in rule_ids for res in results)
    assert "B.license_unclear" in {res["ruleId"] for res in results}
    for res in results:
        loc = res["locations"][0]["physicalLocation"]
        assert loc["region"]["startLine"] >= 1
        assert not Path(loc["artifactLocation"]["uri"]).is_absolute()
    assert run["properties"]["decision"] in {"deny", "quarantine"}


def test_sarif_of_passing_dataset_has_no_results(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("validate", "--spec", PASS_DIR / "kansas_river_gauges", "--format", "sarif",
                "--engine", "embedded")
    assert r.code == 0
    assert json.loads(r.out)["runs"][0]["results"] == []


def test_junit_reports_each_gate(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("validate", "--spec", FAILING, "--format", "junit", "--engine", "embedded")
    assert r.code == 1
    root = ET.fromstring(r.out.split("\n", 1)[1])
    cases = root.findall("./testsuite/testcase")
    assert [c.get("classname") for c in cases] == [f"kfm.gate.{g}" for g in "ABCDEFG"]
    failed = {c.get("classname") for c in cases if c.find("failure") is not None}
    assert "kfm.gate.B" in failed
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert all(c.find("skipped").get("message") for c in skipped)  # type: ignore[union-attr]
    assert int(root.get("failures", "0")) == len(failed)


def test_precommit_hook_validates_changed_datasets(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from promote_action.cli.precommit import main

    shutil.copytree(PASS_DIR / "kansas_river_gauges", tmp_path / "data" / "good")
    shutil.copytree(FAILING, tmp_path / "data" / "bad")
    (tmp_path / "README.md").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", os.environ["PATH"])
    assert main(["data/good/processed/gauges.csv", "README.md", "--", "--engine",
                 "embedded"]) == 0
    assert main(["data/good/spec.yaml", "data/bad/catalog/prov.json", "--", "--engine",
                 "embedded"]) == 1
    assert main(["README.md"]) == 0


def test_dataset_dirs_for(tmp_path: Path) -> None:
    from promote_action.datasets import dataset_dirs_for

    (tmp_path / "a" / "x").mkdir(parents=True)
    (tmp_path / "a" / "spec.yaml").write_text("x")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "spec.json").write_text("{}")
    got = dataset_dirs_for(["a/x/deleted.csv", "a/spec.yaml", "b/new.json", "c/none",
                            "../outside"], tmp_path)
    assert got == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
