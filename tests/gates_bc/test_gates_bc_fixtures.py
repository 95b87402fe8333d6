"""The gate B/C fixture cases fail for exactly their named reason; both passing datasets
pass B and C (the full-report check of every fixture is tests/fixtures_check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gates_bc_support import cases, codes, gate_b, gate_c, write_case

from promote_action.gates.base import Status

BC_CASES = sorted(n for n in cases() if n[:2] in {"B-", "C-"})


def test_at_least_three_cases_per_gate() -> None:
    for gate in "BC":
        assert sum(1 for n in BC_CASES if n.startswith(f"{gate}-")) >= 3


@pytest.mark.parametrize("case", BC_CASES)
def test_case_fails_for_its_named_reason_only(tmp_path: Path, case: str) -> None:
    ds = write_case(case, tmp_path / case)
    gate, reason = case.split("-", 1)
    results = {"B": gate_b(ds), "C": gate_c(ds)}
    assert results[gate].status == Status.FAIL
    assert codes(results[gate]) == {f"{gate}.{reason}"}, results[gate].reasons
    other = "C" if gate == "B" else "B"
    assert results[other].status == Status.PASS, results[other].reasons


@pytest.mark.parametrize("name", ["kansas_river_gauges", "kansas_wells_restricted"])
def test_passing_datasets_pass_b_and_c(tmp_path: Path, name: str) -> None:
    ds = write_case(name, tmp_path / name)
    assert gate_b(ds).status == Status.PASS
    assert gate_c(ds).status == Status.PASS


def test_restricted_dataset_is_what_it_claims(tmp_path: Path) -> None:
    from gates_bc_support import read_yaml

    ds = write_case("kansas_wells_restricted", tmp_path / "w")
    spec = read_yaml(ds / "spec.yaml")
    assert spec["policy_label"] in {"restricted", "sensitive_location"}
    assert spec["redaction_plan"]["prov_activity"]
    raw = (ds / "raw" / "kgs_wwc5_export.csv").read_text()
    published = (ds / "processed" / "wells.csv").read_text()
    assert "owner_name" in raw and "owner_name" not in published
