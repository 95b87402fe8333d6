"""README "Quick start" and "Development": what a user of a fresh clone runs.

`./scripts/test` is the command running this very suite, so it is skipped (with that
reason) rather than run recursively; `bench/run` takes minutes by design and is skipped
too (tests/bench_smoke runs every benchmark in its `--smoke` mode). Everything else runs
verbatim.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
from pathlib import Path

import pytest
from readme_harness import REPO, Shell, user_env

RECURSIVE = "this is the command that runs this test suite"
STAMP = ".kfm-installed-test"  # written by scripts/_venv.sh once the venv is installed


def test_quick_start(tmp_path: Path) -> None:
    """`./scripts/demo` in this checkout: validate, promote, re-run (no-op), verify."""
    venv = Path(sys.prefix)
    if not (venv / STAMP).is_file():
        pytest.skip(f"{venv} was not created by ./scripts/test: the demo would pip-install "
                    "into it")
    env = user_env(tmp_path / "home", KFM_DEMO_OUT=str(tmp_path / "demo-out"),
                   KFM_VENV=str(venv))
    sh = Shell(REPO, env, skips={"./scripts/test": RECURSIVE})
    [steps] = sh.run_section("Quick start")
    demo = steps.find("./scripts/demo")
    assert steps.find("./scripts/test").skipped == RECURSIVE
    assert "PASS" in demo.out and "QUARANTINE" in demo.out
    assert "already recorded (no-op)" in demo.out
    assert "ledger OK: 1 entries (1 promotions" in demo.out
    assert (tmp_path / "demo-out" / "repo").is_dir()


def _copy_checkout(dst: Path) -> Path:
    """The checkout's product files (no .git, no venv, no caches), since the command
    under test rewrites files in place."""
    ignore = shutil.ignore_patterns(".git", ".venv", "demo-out", "__pycache__", "*_cache",
                                    "*.egg-info")
    shutil.copytree(REPO, dst, ignore=ignore, symlinks=True)
    # The `.venv/bin/python` that ./scripts/test would have created: this interpreter.
    py = dst / ".venv" / "bin" / "python"
    py.parent.mkdir(parents=True)
    py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    py.chmod(0o755)
    return dst


def _same_tree(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    diff = [f"{a.name}/{n}" for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    diff += [f"{a.name}/{n}" for n in cmp.common_files
             if not filecmp.cmp(a / n, b / n, shallow=False)]
    for sub in cmp.common_dirs:
        diff += _same_tree(a / sub, b / sub)
    return diff


def test_development(tmp_path: Path) -> None:
    """`fixtures/build.py` regenerates exactly the checked-in fixtures and reports."""
    work = _copy_checkout(tmp_path / "clone")
    for kind in ("pass", "fail"):
        shutil.rmtree(work / "fixtures" / kind)  # regenerated from nothing
    env = user_env(tmp_path / "home")
    env["PATH"] = os.environ.get("PATH", "")
    sh = Shell(work, env, skips={"./scripts/test": RECURSIVE,
                                 "bench/run": "minutes by design; tests/bench_smoke runs "
                                              "each benchmark's --smoke mode"})
    [steps] = sh.run_section("Development")
    assert steps.find("fixtures/build.py").rc == 0
    assert _same_tree(REPO / "fixtures", work / "fixtures") == []
