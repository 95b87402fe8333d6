"""Nothing lost: concurrent promoters, a shared local repo, SIGKILL at random points."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ledgerlib import (
    REPO_ROOT,
    allowed_for,
    clone,
    git_repo,
    make_dataset,
    make_key,
    new_ledger,
    verify,
)

POLICY = REPO_ROOT / "fixtures" / "policy"
N = 8


def promote_cmd(ds: Path, version: str, repo: Path, key: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "promote_action", "promote", "--dataset-slug", ds.name,
            "--dataset-version-id", version, "--spec", str(ds), "--repo", str(repo),
            "--released-at", "2026-02-20T13:00:00Z", "--policy", str(POLICY),
            "--approver", "principal:github:kfm-steward", "--approver-role", "steward",
            "--signing-key", str(key), "--allowed-signers", str(allowed_for(key)),
            "--engine", "embedded", *extra]


@pytest.mark.slow
def test_concurrent_promoters_all_land_on_remote(tmp_path: Path):
    key_file, allowed, _ = make_key(tmp_path / "keys")
    origin = git_repo(tmp_path / "origin.git", bare=True)
    seed = git_repo(tmp_path / "seed")
    subprocess.run(["git", "-C", str(seed), "push", "-q", str(origin), "HEAD:refs/heads/main"],
                   check=True)
    subprocess.run(["git", "-C", str(origin), "symbolic-ref", "HEAD", "refs/heads/main"],
                   check=True)
    procs = []
    for i in range(N):
        ds, version = make_dataset(tmp_path / "data", f"river_gauges_{i:02d}")
        local = clone(origin, tmp_path / f"clone{i}")
        procs.append(subprocess.Popen(promote_cmd(ds, version, local, key_file, "--remote",
                                                  "origin"), cwd=REPO_ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, out + err
    res = verify(origin, allowed)
    assert res.ok, res.failure
    assert res.counts["promotion"] == N and res.entries == N
    tags = subprocess.run(["git", "-C", str(origin), "tag", "-l", "kfm/*"], text=True,
                          capture_output=True, check=True).stdout.split()
    assert len(tags) == N


WORKER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {lib!r})
    from pathlib import Path
    from ledgerlib import synthetic_quarantine, trusted_target, version_id
    from promote_action.ledger.writer import append_event
    from promote_action.signing.keys import load_signing_key
    key = load_signing_key(Path({key!r}))
    lt = trusted_target(Path({repo!r}), key, max_attempts=100)
    w = int(sys.argv[1])
    for j in range({per}):
        r = append_event(lt, synthetic_quarantine(f"worker_{{w:02d}}", version_id(j)), key)
        assert r.status == "recorded", r.status
""")


def test_concurrent_appenders_share_one_local_repo(tmp_path: Path):
    key_file, allowed, key = make_key(tmp_path / "keys")
    repo = git_repo(tmp_path / "repo")
    new_ledger(repo, key)
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(lib=str(Path(__file__).parent), key=str(key_file),
                                    repo=str(repo), per=3))
    procs = [subprocess.Popen([sys.executable, str(script), str(w)], cwd=REPO_ROOT,
                              stderr=subprocess.PIPE, text=True) for w in range(N)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    res = verify(repo, allowed)
    assert res.ok, res.failure
    assert res.entries == N * 3


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_valid_ledger_and_rerun_completes(tmp_path: Path):
    key_file, allowed, _ = make_key(tmp_path / "keys")
    repo = git_repo(tmp_path / "repo")
    ds, version = make_dataset(tmp_path / "data", "killed_gauges")
    cmd = promote_cmd(ds, version, repo, key_file)
    rng = random.Random(5)  # seeded: the same kill points on every run
    for _ in range(5):
        p = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.2, 1.6))
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        has_branch = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q",
                                     "refs/heads/kfm-ledger"], capture_output=True).returncode
        if has_branch == 0:
            res = verify(repo, allowed)
            assert res.ok, res.failure
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    again = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already recorded" in again.stdout
    res = verify(repo, allowed)
    assert res.ok and res.counts["promotion"] == 1 and res.entries == 1, res.to_json()
