"""bench/policy.py runs end to end (no timing assertion: performance lives in bench/)."""

from __future__ import annotations

import subprocess
import sys

from policy_helpers import REPO


def test_policy_bench_smoke(require_opa: None) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "policy.py"), "--smoke"],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "embedded (regorus, in-process)" in proc.stdout
    assert "identical decision_id: True" in proc.stdout
