"""Decision records and reports: schema-valid, content-addressed, explained; every
project schema passes its metaschema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from policy_helpers import DEMO_POLICY, FIXTURES, REPO
from tests_support import fixture_builder

from promote_action.schemas import schema_errors

PASS = FIXTURES / "pass" / "kansas_river_gauges"


@pytest.mark.parametrize("path", sorted((REPO / "schemas").glob("*.json")),
                         ids=lambda p: p.name)
def test_schema_passes_its_metaschema(path: Path) -> None:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://kfm.example/schemas/{path.name}"


def _validate(run_cli, tmp_path: Path, dataset: Path, *extra: str) -> tuple[int, dict, dict]:
    report, decision = tmp_path / "report.json", tmp_path / "decision.json"
    r = run_cli("validate", "--spec", dataset, "--policy", DEMO_POLICY, "--format", "json",
                "--report", report, "--decision-out", decision, *extra)
    assert r.code in (0, 1), r.err
    return r.code, json.loads(report.read_text()), json.loads(decision.read_text())


def test_written_documents_validate_pass_and_fail(run_cli, tmp_path: Path) -> None:
    fails = sorted((FIXTURES / "fail").glob("F-*"))[:2] + sorted(
        (FIXTURES / "fail").glob("[BD]-*"))[:1]
    for dataset in [PASS, *fails]:
        _, report, record = _validate(run_cli, tmp_path, dataset, "--engine", "embedded")
        assert schema_errors("validation_report.schema.json", report) == [], dataset
        assert schema_errors("decision_record.schema.json", record) == [], dataset
        assert record["decision_id"] == report["policy"]["decision_id"]
        assert record["outcome"] == report["decision"]


def test_record_is_content_addressed_and_engine_independent(run_cli, tmp_path: Path,
                                                            require_opa: None) -> None:
    _, rep_e, rec_e = _validate(run_cli, tmp_path, PASS, "--engine", "embedded")
    _, rep_e2, rec_e2 = _validate(run_cli, tmp_path, PASS, "--engine", "embedded")
    _, rep_o, rec_o = _validate(run_cli, tmp_path, PASS, "--engine", "opa")
    assert rec_e == rec_e2 and rep_e == rep_e2  # deterministic, no clock
    assert rec_e["decision_id"] == rec_o["decision_id"] and rep_e == rep_o
    assert {rec_e["engine"], rec_o["engine"]} == {"embedded", "opa"}
    assert rec_e["decision_id"].startswith("kfm://policy_decision/sha256:")
    assert any(k.startswith("builtin:") and k.endswith("promote.rego")
               for k in rec_e["policy_files"])


def test_pr_check_shows_awaiting_approval_distinctly(run_cli) -> None:
    r = run_cli("validate", "--spec", PASS, "--policy", DEMO_POLICY, "--engine", "embedded")
    assert r.code == 0, r.out + r.err
    assert "[WAIT] F.awaiting_approval: would deny: awaiting steward approval" in r.out
    assert "FAIL" not in r.out


def test_explain_names_code_message_path_and_value(run_cli, tmp_path: Path) -> None:
    code, report, record = _validate(run_cli, tmp_path, FIXTURES / "fail" /
                                     "F-evidence_unresolved", "--engine", "embedded")
    assert code == 1 and record["outcome"] == "deny"
    (entry,) = record["explain"]
    assert entry["code"] == "F.evidence_unresolved" and entry["path"] == "evidence[1]"
    assert entry["value_present"] and entry["value"]["uri"] == "qa/review.md"
    assert entry["value"]["resolved"] is False
    gate_f = next(g for g in report["gates"] if g["id"] == "F")
    assert gate_f["status"] == "fail"
    assert [(r["code"], r["pointer"]) for r in gate_f["reasons"]] == [
        ("F.evidence_unresolved", "evidence[1]")]


def _content_case(tmp_path: Path) -> Path:
    """fixtures/cases/gate_f.py CONTENT_CASE built like a fixture (no checked-in dir)."""
    import importlib.util

    def load(name: str, path: Path):  # type: ignore[no-untyped-def]
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    build = fixture_builder()
    cases = load("kfm_policy_gate_f", FIXTURES / "cases" / "gate_f.py")
    ds = build.base_dataset()
    cases.CONTENT_CASE(ds)
    ds.write(tmp_path / "content_case")
    return tmp_path / "content_case"


@pytest.mark.parametrize("case,code", [("F-evidence_missing", "F.evidence_missing"),
                                       ("F-evidence_unresolved", "F.evidence_unresolved"),
                                       ("content", "F.evidence_unresolved")])
def test_gate_f_fixtures_fail_only_on_the_policy(run_cli, tmp_path: Path, case: str,
                                                 code: str) -> None:
    dataset = _content_case(tmp_path) if case == "content" else FIXTURES / "fail" / case
    _, report, record = _validate(run_cli, tmp_path, dataset, "--engine", "embedded")
    assert [r["code"] for r in record["result"]["deny"]] == [code]
    assert [g["id"] for g in report["gates"] if g["status"] == "fail"] == ["F"]


def test_policy_eval_replays_a_capsule(run_cli, tmp_path: Path) -> None:
    from policy_helpers import STEWARD, capsule_for

    from promote_action.policy.bundle import load_bundle

    capsule = capsule_for(PASS, load_bundle([DEMO_POLICY]), stage="promote",
                          approvals=[STEWARD])
    path = tmp_path / "capsule.json"
    path.write_text(json.dumps(capsule))
    r = run_cli("policy", "eval", "--capsule", path, "--policy", DEMO_POLICY,
                "--engine", "embedded", "--out", tmp_path / "d.json")
    assert r.code == 0, r.out + r.err
    assert schema_errors("decision_record.schema.json", json.loads(r.out)) == []
    r = run_cli("policy", "eval", "--capsule", path, "--engine", "embedded")
    assert r.code == 1 and '"F.approval_missing"' in r.out  # no steward roster: deny
    path.write_text(json.dumps({**capsule, "stage": "merge"}))
    r = run_cli("policy", "eval", "--capsule", path, "--engine", "embedded")
    assert r.code == 2 and "capsule.json: /stage" in r.err
