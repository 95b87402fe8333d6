"""bench/chain.py still runs end to end (tiny: one run, no timing assertion)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests_support import REPO


def test_chain_bench_smoke(require_opa: None) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "chain.py"), "--smoke"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["bench"] == "chain" and summary["commands"] >= 6
    assert summary["chain_s"] > 0 and summary["validate_s"] > 0
