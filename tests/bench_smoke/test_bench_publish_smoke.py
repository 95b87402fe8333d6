"""bench/publish.py still runs end to end (tiny: one round, no timing assertion), and every
contender's published objects are checked against their digests."""

from __future__ import annotations

import json
import subprocess
import sys

from tests_support import REPO


def test_publish_bench_smoke() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "publish.py"), "--smoke"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["bench"] == "publish"
    for case in ("many", "one"):
        assert set(summary[case]) == {"kfm", "boto3_copy", "boto3_server_copy", "ceiling"}
        assert all(v > 0 for v in summary[case].values())
    assert "kfm publish / boto3 copy" in proc.stdout
