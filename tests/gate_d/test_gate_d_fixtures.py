"""The shipped fixtures: the pass dataset passes gate D with every hash link recorded,
each D-* fail case fails for exactly its named reason, other gates' cases pass gate D."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_d_support import codes, run
from tests_support import FIXTURES

from promote_action.digests import hash_file

PASS = FIXTURES / "pass" / "kansas_river_gauges"
FAIL = sorted(p for p in (FIXTURES / "fail").glob("*") if p.is_dir())
D_CASES = [p.name for p in FAIL if p.name.startswith("D-")]


def test_pass_fixture_passes_and_records_links() -> None:
    res, ctx = run(PASS)
    assert res.status == "pass" and res.reasons == ()
    for path, link in ctx.links.items():
        assert link.actual == hash_file(PASS / path)
        assert link.dcat == link.actual and link.prov == link.actual
    assert ctx.links["processed/gauges.geojson"].stac == ctx.links[
        "processed/gauges.geojson"].actual
    assert ctx.links["processed/gauges.csv"].stac is None  # not spatial, not in STAC
    assert ctx.facts["catalogs"] == [
        {"kind": kind, "path": rel, "digest": hash_file(PASS / rel)}
        for kind, rel in [("dcat", "catalog/dcat.jsonld"),
                          ("stac_collection", "catalog/stac/collection.json"),
                          ("stac_item", "catalog/stac/items/gauges.json"),
                          ("prov", "catalog/prov.json")]]


def test_gate_d_is_deterministic() -> None:
    first, _ = run(PASS)
    second, _ = run(PASS)
    assert first == second


def test_gate_d_ships_fail_cases() -> None:
    assert len(D_CASES) >= 3


@pytest.mark.parametrize("name", D_CASES)
def test_d_fail_case_fails_for_its_reason(name: str) -> None:
    """`D-<reason>` fails gate D with `D.<reason>` and nothing else."""
    res, _ = run(FIXTURES / "fail" / name)
    assert codes(res) == [name.replace("-", ".", 1)], res.reasons
    assert all(r.path and r.pointer for r in res.reasons)


@pytest.mark.parametrize("case", [p for p in FAIL if not p.name.startswith("D-")],
                         ids=lambda p: p.name)
def test_other_gates_cases_pass_gate_d(case: Path) -> None:
    """A fail case names one reason; gate D must not add its own to another gate's case."""
    res, _ = run(case)
    assert res.reasons == (), res.reasons
