"""The act runs are offline, and the check that says so can see a connection attempt."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from act_runner import WORKFLOW, ConnectionRecorder, act_binary, job_path


def _list_jobs(tmp: Path, *, disable_check: bool) -> int:
    recorder = ConnectionRecorder()
    env = {"PATH": job_path(), "HOME": str(tmp), "HTTPS_PROXY": recorder.url,
           "HTTP_PROXY": recorder.url}
    if disable_check:
        env["ACT_DISABLE_VERSION_CHECK"] = "1"
    try:
        proc = subprocess.run([act_binary(), "--list", "-W", str(WORKFLOW), "-C", str(tmp)],
                              cwd=tmp, env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        assert "promote" in proc.stdout and "verify" in proc.stdout
        time.sleep(0.3)  # let the listener count a connection made just before exit
    finally:
        recorder.close()
    return recorder.connections


def test_act_update_check_is_seen_and_then_disabled(tmp_path: Path) -> None:
    # act asks a notices service for news at start-up; through the proxy variables that
    # attempt reaches the recorder, which is how every act run proves it stayed offline
    assert _list_jobs(tmp_path, disable_check=False) >= 1
    assert _list_jobs(tmp_path, disable_check=True) == 0
