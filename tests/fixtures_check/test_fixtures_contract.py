"""The shipped fixtures are exactly what fixtures/build.py produces, and each failing
fixture fails for exactly the reason its name gives, with its expected report checked in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests_support import FAIL_DIR, FIXTURES, PASS_DIR, fixture_builder


def _build_module():  # type: ignore[no-untyped-def]
    return fixture_builder()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_checked_in_fixtures_match_the_builder(tmp_path: Path) -> None:
    build = _build_module()
    build.build(tmp_path, expected=False)
    for kind in ("pass", "fail"):
        want = {k: v for k, v in _tree(tmp_path / kind).items()}
        have = {k: v for k, v in _tree(FIXTURES / kind).items()
                if not k.endswith("/expected.json")}
        assert sorted(have) == sorted(want), f"fixtures/{kind} differs from build.py output"
        for k in want:
            assert have[k] == want[k], f"fixtures/{kind}/{k} is stale: run fixtures/build.py"


FAIL_CASES = sorted(p.name for p in FAIL_DIR.iterdir() if p.is_dir()) if FAIL_DIR.exists() else []
PASS_CASES = sorted(p.name for p in PASS_DIR.iterdir() if p.is_dir())


def test_at_least_two_failing_fixtures_per_gate() -> None:
    for gate in "ABCDEFG":
        n = sum(1 for c in FAIL_CASES if c.startswith(f"{gate}-"))
        assert n >= 2, f"gate {gate} has {n} failing fixtures"


@pytest.mark.parametrize("case", FAIL_CASES)
def test_failing_fixture_fails_for_its_named_reason(case: str) -> None:
    build = _build_module()
    report = json.loads(build.expected_report(FAIL_DIR / case))
    gate, reason = case.split("-", 1)
    code = f"{gate}.{reason}"
    assert report["decision"] in {"deny", "quarantine"}
    by_id = {g["id"]: g for g in report["gates"]}
    if gate == "F":
        assert code in {r["code"] for r in report["policy"]["deny"]}, report["policy"]
    else:
        assert by_id[gate]["status"] == "fail"
        assert code in {r["code"] for r in by_id[gate]["reasons"]}, by_id[gate]
    others = [g for g in report["gates"] if g["id"] not in {gate, "F"} and g["status"] == "fail"]
    assert not others, f"{case} also fails gates {[g['id'] for g in others]}"
    expected = (FAIL_DIR / case / "expected.json").read_bytes()
    assert json.loads(expected) == report, f"{case}/expected.json is stale"


@pytest.mark.parametrize("case", PASS_CASES)
def test_passing_fixture_passes(case: str) -> None:
    build = _build_module()
    report = json.loads(build.expected_report(PASS_DIR / case))
    failing = {g["id"]: g["reasons"] for g in report["gates"] if g["status"] == "fail"}
    assert report["decision"] == "pass", failing
    assert [p["code"] for p in report["policy"]["pending"]] == ["F.awaiting_approval"]
