"""bench/ledger.py still runs end to end (tiny sizes, no timing assertion): it imports the
test helpers from outside the test tree, which a refactor once broke silently."""

from __future__ import annotations

import subprocess
import sys

from tests_support import REPO


def test_ledger_bench_smoke() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "ledger.py"), "--smoke",
                           "--skip-concurrent", "--repeats", "1"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "append latency" in out and "verify --since a checkpoint 30 entries" in out, out
    assert "verify floor" in out and "ledger log --dataset" in out, out
    assert "ledger clone size per 1,000 promotions" in out, out
