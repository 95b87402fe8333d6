"""Hostile-input corpus: every case ends with exit 1 or 2, one clear line, no traceback,
in bounded time and memory, and writes nothing.

Each case (tests/hostile/cases/<category>/<name>/case.json, plus the big ones generated at
test time by make_corpus.py) is run as a subprocess of the real CLI under an address-space
limit. Exit 2 must print exactly one `kfm-promote: error:` line naming the file and the
field or line; exit 1 must print a JSON report whose failing reasons name the file/field.
The whole sandbox (workspace, outside files, cwd, TMPDIR, user policy) is snapshotted
before and after: any byte written, any temp dir left behind, fails the case.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_support import (
    CPU_LIMIT_S,
    MEMORY_LIMIT,
    SECRET,
    WALL_LIMIT_S,
    Case,
    Run,
    child_limits,
    load_cases,
    prepare,
    run_case,
    snapshot,
    stable_copy,
    wall_limit,
)

ALL_CASES: list[Case] = load_cases()


def _param(case: Case) -> Any:
    """Known product gaps are strict xfails: they flip to failures the day they are fixed."""
    marks = [pytest.mark.xfail(reason=case.meta["xfail"], strict=True)] \
        if case.meta.get("xfail") else []
    return pytest.param(case, id=case.id, marks=marks)


def test_corpus_is_large_and_covers_every_category() -> None:
    cats: dict[str, int] = {}
    for c in ALL_CASES:
        cats[c.category] = cats.get(c.category, 0) + 1
    assert len(ALL_CASES) >= 60, cats
    for cat in ("yaml", "json", "paths", "identity", "catalogs", "policy", "workflow"):
        assert cats.get(cat, 0) >= 2, (cat, cats)
    names = [c.id for c in ALL_CASES]
    assert len(names) == len(set(names))
    for c in ALL_CASES:
        assert c.meta["exit"] in (1, 2), c.id
        assert c.meta.get("why"), f"{c.id}: say what the case attacks"


def test_memory_bound_still_bites() -> None:
    """The corpus's memory bound is real: a child that commits more than it is killed
    with MemoryError, while the address space it merely reserves is not counted."""
    code = (f"import mmap\n"
            f"m = mmap.mmap(-1, {4 * MEMORY_LIMIT}, prot=mmap.PROT_READ)\n"  # reserve only
            f"b = bytearray({MEMORY_LIMIT + (64 << 20)})\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          preexec_fn=child_limits, timeout=60, check=False)
    assert proc.returncode != 0
    assert "MemoryError" in proc.stderr, proc.stderr
    assert "line 3" in proc.stderr, "the reservation (line 2) must not be what failed"


def _reasons(report: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for gate in report["gates"]:
        if gate["status"] == "fail":
            out.extend(gate["reasons"])
    return out


def _check_exit2(case: Case, run: Run) -> None:
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, f"want one stderr line, got: {run.err!r}"
    line = lines[0]
    assert line.startswith("kfm-promote: error: "), line
    assert "internal error" not in line, line
    for needle in case.meta.get("stderr", []):
        assert needle in line, f"{needle!r} not in {line!r}"
    assert run.out == "", f"nothing on stdout for bad input, got {run.out[:200]!r}"


def _check_exit1(case: Case, run: Run) -> None:
    assert len(run.err.strip().splitlines()) <= 1, run.err
    if case.meta.get("format", "json") != "json":
        forbidden = case.meta["stdout_forbid_line"]
        assert forbidden not in run.out.splitlines(), "a value forged an output line"
        assert "::error" in run.out, "the failing gates must still be annotated"
        return
    report = json.loads(run.out)
    assert report["decision"] in ("deny", "quarantine"), report["decision"]
    reasons = _reasons(report)
    assert reasons, "a non-pass decision must carry at least one failing reason"
    codes = {r["code"] for r in reasons} | {d["code"] for d in report["policy"]["deny"]}
    for code in case.meta.get("codes", []):
        assert code in codes, f"{code} not in {sorted(codes)}"
    for needle in case.meta.get("reasons", []):
        hits = [r for r in reasons
                if needle in " ".join((r["code"], r["message"], r["path"], r["pointer"]))]
        assert hits, f"no failing reason mentions {needle!r}: {reasons}"
        assert any(r["path"] or r["pointer"] for r in hits), \
            f"reason for {needle!r} names no file/field: {hits}"
    if "decision" in case.meta:
        assert report["decision"] == case.meta["decision"], report["policy"]["deny"]


@pytest.fixture(scope="session")
def pass_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stable_copy(tmp_path_factory.mktemp("hostile-base") / "kansas_river_gauges")


@pytest.mark.parametrize("case", [_param(c) for c in ALL_CASES])
def test_hostile_case(case: Case, tmp_path: Path, pass_copy: Path) -> None:
    box = prepare(tmp_path, case, pass_copy)
    before = snapshot(tmp_path)
    run = run_case(box, case)
    after = snapshot(tmp_path)
    assert "Traceback" not in run.err, run.err
    assert SECRET not in run.out + run.err, "content of a file outside the workspace leaked"
    assert run.code == case.meta["exit"], \
        f"exit {run.code}, want {case.meta['exit']}\nstderr: {run.err}\nstdout: {run.out[:800]}"
    if run.code == 2:
        _check_exit2(case, run)
    else:
        _check_exit1(case, run)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the run wrote to: {changed}"
    assert run.cpu < CPU_LIMIT_S, f"used {run.cpu:.2f}s CPU (limit {CPU_LIMIT_S}s)"
    limit = wall_limit(case.meta.get("wall_limit", WALL_LIMIT_S))
    assert run.wall < limit, f"took {run.wall:.2f}s wall (limit {limit}s)"
