"""Quarantine records: schema, template, capsule state, and the decision they force."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gates_bc_support import build_module, context, read_yaml, write_yaml

from promote_action import quarantine
from promote_action.errors import InputError, MissingFileError, SchemaError
from promote_action.gates.base import GateResult, Reason, Status
from promote_action.schemas import schema_errors

SLUG = "kansas_river_gauges"


def record(**changes: Any) -> dict[str, Any]:
    rec = json.loads(json.dumps(read_template(SLUG)))
    rec.update(changes)
    return rec


def read_template(slug: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(quarantine.render_template(slug))


def attach(ds: Path, rec: dict[str, Any], rel: str = "quarantine.yaml") -> None:
    """Add a record to a dataset copy (the spec changes, so catalogs go stale: gate-level
    tests only; end-to-end tests use `sealed`)."""
    (ds / rel).parent.mkdir(parents=True, exist_ok=True)
    write_yaml(ds / rel, rec)
    spec = read_yaml(ds / "spec.yaml")
    spec["quarantine"] = rel
    write_yaml(ds / "spec.yaml", spec)


# --- schema and template -------------------------------------------------------------------

def test_template_renders_to_a_valid_active_record() -> None:
    rec = read_template(SLUG)
    assert schema_errors("quarantine.schema.json", rec) == []
    assert rec["status"] == "active" and rec["dataset_slug"] == SLUG


def test_reason_vocabulary_matches_the_schema() -> None:
    from promote_action.resources import load_schema

    enum = load_schema("quarantine.schema.json")["properties"]["reason_code"]["enum"]
    assert sorted(enum) == sorted(quarantine.REASON_CODES)
    template = quarantine.render_template(SLUG)
    for code in enum:  # every code is documented where contributors look
        assert code in template


def _set_in(path: list[str], value: Any) -> Callable[[dict[str, Any]], None]:
    def fn(rec: dict[str, Any]) -> None:
        node = rec
        for key in path[:-1]:
            node = node[key]
        if value is _DROP:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return fn


_DROP = object()
RELEASED = {"by": "github:steward", "on": "2026-03-02", "note": "Publisher granted CC-BY-4.0."}

BAD_RECORDS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown reason": (_set_in(["reason_code"], "license_weird"), "/reason_code"),
    "unknown status": (_set_in(["status"], "paused"), "/status"),
    "no owner": (_set_in(["remediation", "owner"], _DROP), "/remediation"),
    "owner not a principal": (_set_in(["remediation", "owner"], "someone"),
                              "/remediation/owner"),
    "no due date": (_set_in(["remediation", "due"], _DROP), "/remediation"),
    "due not YYYY-MM-DD": (_set_in(["remediation", "due"], "1 March 2026"),
                           "/remediation/due"),
    "due impossible day": (_set_in(["remediation", "due"], "2026-02-30"), "/remediation/due"),
    "no plan": (_set_in(["remediation", "plan"], _DROP), "/remediation"),
    "extra field": (_set_in(["severity"], "high"), ""),
    "released without release": (_set_in(["status"], "released"), ""),
    "active with release": (_set_in(["released"], RELEASED), ""),
    "bad gate code": (_set_in(["gate_codes"], ["license_unclear"]), "/gate_codes/0"),
}


@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_schema_rejects_bad_records(name: str) -> None:
    mutate, pointer = BAD_RECORDS[name]
    rec = record()
    mutate(rec)
    errors = schema_errors("quarantine.schema.json", rec)
    assert errors and pointer in {p for p, _ in errors}, errors


def test_released_record_is_valid() -> None:
    assert schema_errors("quarantine.schema.json",
                         record(status="released", released=RELEASED)) == []


# --- quarantine_state ----------------------------------------------------------------------

def test_no_record_means_inactive(pass_dataset: Path) -> None:
    assert quarantine.quarantine_state(context(pass_dataset)) == {
        "active": False, "reason_code": None, "record": None}


def test_active_and_released_records(pass_dataset: Path) -> None:
    attach(pass_dataset, record(reason_code="rights_dispute"), "quarantine/record.yaml")
    assert quarantine.quarantine_state(context(pass_dataset)) == {
        "active": True, "reason_code": "rights_dispute", "record": "quarantine/record.yaml"}
    attach(pass_dataset, record(status="released", released=RELEASED),
           "quarantine/record.yaml")
    assert quarantine.quarantine_state(context(pass_dataset))["active"] is False


def test_invalid_record_is_a_schema_error_naming_file_and_pointer(pass_dataset: Path) -> None:
    rec = record()
    rec["remediation"]["due"] = "soon"
    attach(pass_dataset, rec)
    with pytest.raises(SchemaError) as e:
        quarantine.quarantine_state(context(pass_dataset))
    assert e.value.file == "quarantine.yaml" and e.value.field == "/remediation/due"


def test_missing_record_is_bad_input_not_no_quarantine(pass_dataset: Path) -> None:
    spec = read_yaml(pass_dataset / "spec.yaml")
    spec["quarantine"] = "quarantine.yaml"
    write_yaml(pass_dataset / "spec.yaml", spec)
    with pytest.raises(MissingFileError):
        quarantine.quarantine_state(context(pass_dataset))


def test_record_for_another_dataset_is_refused(pass_dataset: Path) -> None:
    attach(pass_dataset, record(dataset_slug="other_dataset"))
    with pytest.raises(InputError) as e:
        quarantine.quarantine_state(context(pass_dataset))
    assert e.value.field == "/dataset_slug"


def _res(gate: str, *codes: str) -> GateResult:
    return GateResult(gate, Status.FAIL if codes else Status.PASS,
                      tuple(Reason(c, "m") for c in codes))


@pytest.mark.parametrize(("results", "want"), [
    ([_res("A"), _res("B")], None),
    ([_res("B", "B.license_unclear")], "license_unclear"),
    ([_res("B", "B.upstream_unstable")], "upstream_unstable"),
    ([_res("B", "B.upstream_unstable", "B.license_missing")], "license_unclear"),
    ([_res("C", "C.label_missing"), _res("D", "D.x")], "sensitivity_unclear"),
    ([_res("B", "B.license_unclear"), _res("C", "C.label_missing")], "license_unclear"),
    ([_res("E", "E.digest_mismatch")], "validation_failed"),
])
def test_suggest_reason(results: list[GateResult], want: str | None) -> None:
    assert quarantine.suggest_reason(results) == want


# --- end to end: the policy's verdict ------------------------------------------------------

def sealed(tmp_path: Path, rec: dict[str, Any] | None) -> Path:
    """The reference dataset built with the record, every catalog and receipt resealed."""
    ds = build_module().base_dataset()
    if rec is not None:
        ds.spec["quarantine"] = "quarantine.yaml"
        ds.docs["quarantine.yaml"] = rec
    ds.write(tmp_path / SLUG)
    return tmp_path / SLUG


def _report(run_cli: Any, ds: Path) -> tuple[int, dict[str, Any]]:
    res = run_cli("validate", "--spec", ds, "--format", "json", "--engine", "embedded")
    return res.code, json.loads(res.out)


def test_active_record_quarantines_a_dataset_that_passes_everything(
        tmp_path: Path, run_cli: Any) -> None:
    code, before = _report(run_cli, sealed(tmp_path / "before", None))
    assert (code, before["decision"]) == (0, "pass")
    code, report = _report(run_cli, sealed(tmp_path / "after", record()))
    assert [g["status"] for g in report["gates"] if g["id"] != "G"] == ["pass"] * 5 + ["fail"]
    assert (code, report["decision"]) == (1, "quarantine")
    assert "F.quarantine_active" in {d["code"] for d in report["policy"]["deny"]}


def test_released_record_no_longer_blocks(tmp_path: Path, run_cli: Any) -> None:
    rec = record(status="released", released=copy.deepcopy(RELEASED))
    code, report = _report(run_cli, sealed(tmp_path, rec))
    assert (code, report["decision"]) == (0, "pass")


def test_active_record_quarantines_with_real_opa(tmp_path: Path, run_cli: Any,
                                                 require_opa: None) -> None:
    ds = sealed(tmp_path, record(reason_code="steward_request"))
    res = run_cli("validate", "--spec", ds, "--format", "json", "--engine", "opa")
    report = json.loads(res.out)
    assert (res.code, report["decision"]) == (1, "quarantine")
    assert any("steward_request" in d["message"] for d in report["policy"]["deny"])


def test_bad_record_exits_2_with_one_line_naming_file_and_field(
        pass_dataset: Path, run_subprocess: Any, tmp_path: Path) -> None:
    rec = record()
    rec["reason_code"] = "because"
    attach(pass_dataset, rec)
    out = tmp_path / "report.json"
    res = run_subprocess("validate", "--spec", pass_dataset, "--report", out)
    assert res.code == 2 and res.out == ""
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and "quarantine.yaml" in lines[0] and "/reason_code" in lines[0]
    assert "Traceback" not in res.err and not out.exists()
