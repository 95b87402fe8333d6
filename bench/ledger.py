"""Ledger benchmarks, measured in one run so the ratios are comparable.

1. Append latency (the real `append_event`: plan on the tip, TreeBuilder, sign, CAS via
   `git update-ref`) at 10,000 entries vs at 100 entries: target ≤ 1.2×.
2. `verify` of the 10,000-entry ledger (in-process): target ≤ 5 s, and ≥ 5× faster than a
   shell loop of `git verify-commit` over the same commits. The loop is timed on a sample
   of commits and extrapolated to all of them (printed as such).
3. 8 concurrent `kfm-promote promote --remote origin` runs (real gates + policy, one bare
   origin, one clone each): all land; total wall time ≤ 8× one promotion alone.

The large ledger is built with direct appends (synthetic promotions with real manifests
and DSSE envelopes; no gates), committing in-process without the CAS subprocess.

    python bench/ledger.py [--entries N] [--smoke]   (--smoke: small sizes, no targets)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "ledger"))
sys.path.insert(0, str(REPO))

from ledgerlib import (  # noqa: E402
    REF,
    DirectWriter,
    allowed_for,
    clone,
    git_repo,
    make_dataset,
    make_key,
    new_ledger,
    synthetic_promotion,
    trusted_target,
    verify,
    version_id,
)
from verify_floor import floor  # noqa: E402

from promote_action.ledger.store import LedgerView  # noqa: E402
from promote_action.ledger.writer import append_event  # noqa: E402


def event(key, i):  # type: ignore[no-untyped-def]
    return synthetic_promotion(key, f"ds_{i % 100:03d}", version_id(i))


def grow(repo_dir: Path, key, start: int, stop: int) -> None:  # type: ignore[no-untyped-def]
    w = DirectWriter(repo_dir, key)
    w.seq = LedgerView(w.repo, w.tip).head_entry()[0]
    if w.seq:
        raise SystemExit("grow() builds from an empty ledger only")
    for i in range(start, stop):
        w.append(event(key, i))
    w.finish()


def append_latency(lt, key, first: int, n: int) -> float:  # type: ignore[no-untyped-def]
    append_event(lt, event(key, first + 10_000_000), key)  # warm caches (imports, odb)
    times = []
    for i in range(first, first + n):
        ev = event(key, i)
        t0 = time.perf_counter()
        res = append_event(lt, ev, key)
        times.append(time.perf_counter() - t0)
        assert res.status == "recorded"
    return statistics.median(times)


def verify_loop_seconds(repo_dir: Path, allowed: Path, sample: int) -> tuple[float, int]:
    revs = subprocess.run(["git", "-C", str(repo_dir), "rev-list", REF], text=True,
                          capture_output=True, check=True).stdout.split()
    picked = revs[:sample]
    script = ("for c in $COMMITS; do git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="
              f"{allowed} verify-commit $c 2>/dev/null || exit 1; done")
    t0 = time.perf_counter()
    subprocess.run(["sh", "-c", script], cwd=repo_dir, check=True,
                   env={"COMMITS": " ".join(picked), "PATH": "/usr/bin:/bin"})
    return time.perf_counter() - t0, len(picked)


def concurrent_promoters(tmp: Path, key_file: Path, n: int) -> tuple[float, float]:
    origin = git_repo(tmp / "origin.git", bare=True)
    seed = git_repo(tmp / "seed")
    subprocess.run(["git", "-C", str(seed), "push", "-q", str(origin), "HEAD:refs/heads/main"],
                   check=True)
    subprocess.run(["git", "-C", str(origin), "symbolic-ref", "HEAD", "refs/heads/main"],
                   check=True)

    def cmd(i: int) -> list[str]:
        ds, version = make_dataset(tmp / "data", f"bench_gauges_{i:02d}")
        local = clone(origin, tmp / f"clone{i}")
        return [sys.executable, "-m", "promote_action", "promote", "--dataset-slug", ds.name,
                "--dataset-version-id", version, "--spec", str(ds), "--repo", str(local),
                "--released-at", "2026-02-20T13:00:00Z", "--policy",
                str(REPO / "fixtures" / "policy"), "--approver",
                "principal:github:kfm-steward", "--approver-role", "steward",
                "--signing-key", str(key_file), "--allowed-signers",
                str(allowed_for(key_file)), "--remote", "origin", "--max-attempts", "40"]

    solo = cmd(99)
    t0 = time.perf_counter()
    subprocess.run(solo, cwd=REPO, check=True, capture_output=True)
    one = time.perf_counter() - t0
    cmds = [cmd(i) for i in range(n)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for c in cmds]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"concurrent promoter failed: {err.decode()[-400:]}")
    total = time.perf_counter() - t0
    return one, total


def build(tmp: Path, key, n: int) -> tuple[Path, float, float]:  # type: ignore[no-untyped-def]
    """A ledger of `n` direct appends, repacked as a clone would hold it; (dir, build s,
    repack s)."""
    repo_dir = git_repo(tmp)
    new_ledger(repo_dir, key)
    t0 = time.perf_counter()
    grow(repo_dir, key, 0, n)
    t1 = time.perf_counter()
    subprocess.run(["git", "-C", str(repo_dir), "repack", "-adq"], check=True)
    subprocess.run(["git", "-C", str(repo_dir), "pack-refs", "--all"], check=True)
    return repo_dir, t1 - t0, time.perf_counter() - t1


def timed_verify(repo_dir: Path, allowed: Path, repeats: int, **opts) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = verify(repo_dir, allowed, **opts)
        times.append(time.perf_counter() - t0)
        assert res.ok, res.failure
        assert res.tags_checked
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--skip-concurrent", action="store_true")
    a = ap.parse_args()
    big, small, samples, promoters = (a.entries, 100, 20, 8) if not a.smoke else (300, 30, 5, 3)
    ok = True
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="kfm-bench-ledger-",
                                     dir=shm if shm.is_dir() else None) as d:
        tmp = Path(d)
        key_file, allowed, key = make_key(tmp / "keys")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
              f"repeats: {a.repeats} (medians)")
        small_dir, _, _ = build(tmp / "small", key, small)
        lat_small = append_latency(trusted_target(small_dir, key), key, small, samples)
        big_dir, t_build, t_pack = build(tmp / "big", key, big)
        print(f"built a {big}-entry ledger in {t_build:.1f} s with the direct writer "
              f"(bench/ledger.py DirectWriter: product entry/README/commit/tag code, state "
              f"in memory, tmpfs) + {t_pack:.1f} s git repack")
        lat_big = append_latency(trusted_target(big_dir, key), key, big, samples)
        total = big + samples
        r1 = lat_big / lat_small
        print(f"append latency (median of {samples}, real append_event incl. CAS): "
              f"{lat_small * 1000:.1f} ms at {small} entries, {lat_big * 1000:.1f} ms at "
              f"{big} entries: ratio {r1:.2f} (target <= 1.20)")
        ok &= r1 <= 1.2
        t_verify = timed_verify(big_dir, allowed, a.repeats)
        t_verify1 = timed_verify(big_dir, allowed, 1, jobs=1)
        loop, n = verify_loop_seconds(big_dir, allowed, 300 if not a.smoke else 50)
        loop_all = loop * (total + 1) / n
        r2 = loop_all / t_verify
        print(f"verify {total} entries (+ {total} tags): {t_verify:.2f} s with "
              f"{os.cpu_count()} workers, {t_verify1:.2f} s in one process (target <= 5 s)")
        print(f"git verify-commit shell loop: {loop:.2f} s for a sample of {n} commits, "
              f"EXTRAPOLATED to {total + 1} commits: {loop_all:.1f} s; verify is {r2:.1f}x "
              "faster (target >= 5x; the loop checks commit signatures only)")
        ok &= t_verify <= 5.0 and r2 >= 5.0
        f_wall, f_cpu, _ = floor(big_dir)
        cores = os.cpu_count() or 1
        print(f"verify floor (bench/verify_floor.py: only the reads, hashes, JSON and 3 "
              f"signature checks per entry that no verifier can skip): {f_wall:.2f} s in one "
              f"process ({f_cpu:.2f} s CPU), so >= {f_cpu / cores:.2f} s on {cores} cores "
              f"even with perfect parallelism; verify in one process: {t_verify1:.2f} s "
              f"({t_verify1 / f_wall:.2f}x the floor)")
        if not a.skip_concurrent:
            one, many = concurrent_promoters(tmp / "conc", key_file, promoters)
            r3 = many / one
            print(f"{promoters} concurrent promoters: all landed in {many:.1f} s; one alone "
                  f"{one:.1f} s; ratio {r3:.2f} (target <= {promoters})")
            ok &= r3 <= promoters
    if a.smoke:
        return 0
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
