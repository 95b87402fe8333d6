"""bench/remote.py still runs end to end (tiny corpora, one run, no timing assertion):
its own moto server, every contender in a fresh process, digests cross-checked."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests_support import REPO


def test_remote_bench_smoke() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "remote.py"), "--smoke",
                           "--only", "digest"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["bench"] == "remote" and "digest" in summary["sections"]
    table = proc.stdout
    for name in ("kfm", "boto3-pool", "boto3-stream", "ceiling"):
        assert table.count(f" {name} ") == 2, table  # both corpora


def test_remote_bench_publish_section_smoke() -> None:
    """The publish half: every contender copies both corpora, and every object kfm
    published is checked against its digest (a wrong byte fails even --smoke)."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "remote.py"), "--smoke",
                           "--only", "publish"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["sections"] == ["publish"]
    for name in ("kfm", "boto3_copy", "boto3_server_copy", "ceiling"):
        rows = re.findall(rf"^  {name} +[0-9.]+ ", proc.stdout, re.MULTILINE)
        assert len(rows) == 2, proc.stdout  # both corpora
    assert proc.stdout.count("kfm publish / boto3 copy") == 2
