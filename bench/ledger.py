"""Ledger benchmarks, measured in one run so the ratios are comparable.

1. Append latency (the real `append_event`: plan on the tip, TreeBuilder, sign, CAS via
   `git update-ref`) at N entries vs at 100 entries, median of 40 each, appending to the
   two ledgers in turn, three runs: target ≤ 1.2× in each run.
2. Incremental verify (`--since` a checkpoint 100 entries before the tip): ≤ 1 s and
   ≤ 0.02× the full verify of the same ledger.
3. Full verify with `--jobs` = cores: ≤ 1.25× the floor (`bench/verify_floor.py`: the
   per-entry work no verifier can skip, in one process, divided by the cores), and the
   `git verify-commit` shell loop beside it (on a sample, extrapolated, as printed).
4. `kfm-promote ledger log --dataset S` and `ledger show S V` (fresh processes) ≤ 1 s.
5. Ledger clone size per 1,000 promotions for each entry layout (v1: bundle under every
   record, unbounded dataset README; v2: bundle once, bounded README; v3, written now:
   v2 with fanned-out entries and version folders).
6. 8 concurrent `kfm-promote promote --remote origin` runs (real gates + policy, one bare
   origin, one clone each): all land; total wall time ≤ 8× one promotion alone.

The large ledger is built with the direct writer (tests/ledger/ledgerlib.py DirectWriter:
the product's layout, entry, README, commit and tag code; per-dataset state in memory;
synthetic promotions with real manifests, DSSE envelopes and decision evidence; no gates)
to N - 100 entries and repacked; the last 100 are appended after the checkpoint. With
`--cache DIR` that base ledger (and its key) is built once and reused by later runs.

    python bench/ledger.py [--entries N] [--cache DIR] [--smoke]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
)
from verify_floor import floor  # noqa: E402

from promote_action.ledger.entry import ENTRY_VERSION  # noqa: E402
from promote_action.ledger.policy_paths import load_destinations  # noqa: E402
from promote_action.ledger.store import LedgerView, open_repo  # noqa: E402
from promote_action.ledger.verify import parse_checkpoint  # noqa: E402
from promote_action.ledger.writer import append_event  # noqa: E402


def version_of(i: int) -> str:
    """A version id as users' specs derive them: a label and a 12-hex content hash (the
    tests' `version_id` counts up in hex, which would put every version in hash folders 0/0)."""
    return f"2026-02.{hashlib.sha256(b'%d' % i).hexdigest()[:12]}"


def event(key, i):  # type: ignore[no-untyped-def]
    return synthetic_promotion(key, f"ds_{i % 100:03d}", version_of(i))


def grow(repo_dir: Path, key, start: int, stop: int, layout: str = ENTRY_VERSION,  # type: ignore[no-untyped-def]
         datasets: int = 100) -> None:
    """Direct appends of events start..stop-1 on top of whatever the ledger holds."""
    w = DirectWriter(repo_dir, key, layout_version=layout)
    for i in range(start, stop):
        w.append(synthetic_promotion(key, f"ds_{i % datasets:03d}", version_of(i)))
    w.finish()


def append_latencies(lts, key, first: int, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median latency of `n` appends to each of two ledgers, alternating between them
    (and which goes first), so drift on a shared machine (other jobs, CPU clocks) hits
    both alike instead of whichever ran second."""
    for j, lt in enumerate(lts):  # warm caches (imports, odb)
        append_event(lt, event(key, first + 10_000_000 + j), key)
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(n):
        for j in ((0, 1) if i % 2 == 0 else (1, 0)):
            ev = event(key, first + j * 500 + i)
            t0 = time.perf_counter()
            res = append_event(lts[j], ev, key)
            times[j].append(time.perf_counter() - t0)
            assert res.status == "recorded"
    return statistics.median(times[0]), statistics.median(times[1])


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


def repack(repo_dir: Path) -> None:
    subprocess.run(["git", "-C", str(repo_dir), "repack", "-adq"], check=True)
    subprocess.run(["git", "-C", str(repo_dir), "pack-refs", "--all"], check=True)


def build(tmp: Path, key, n: int, layout: str = ENTRY_VERSION, datasets: int = 100  # type: ignore[no-untyped-def]
          ) -> tuple[Path, float, float]:
    """A ledger of `n` direct appends, repacked as a clone would hold it; (dir, build s,
    repack s)."""
    repo_dir = git_repo(tmp)
    new_ledger(repo_dir, key)
    t0 = time.perf_counter()
    grow(repo_dir, key, 0, n, layout, datasets)
    t1 = time.perf_counter()
    repack(repo_dir)
    return repo_dir, t1 - t0, time.perf_counter() - t1


def cached_base(cache: Path | None, tmp: Path, n: int, copy: bool = True
                ) -> tuple[Path, Path, Any, str]:
    """The (N - 100)-entry base ledger, its allowed_signers and key, and how it was got.
    Built in `tmp`, or once into `cache` and copied from there (the bench appends to
    and verifies its own copy, so the cached one stays as built)."""
    where = (cache.resolve() / f"base-{ENTRY_VERSION}-{n}") if cache is not None else \
        tmp / "base"
    _, allowed, key = make_key(where / "keys")
    repo_dir = where / "ledger"
    done = where / "BUILT"
    if cache is not None and done.exists():
        how = f"reused the cached {n}-entry base ledger ({done.read_text().strip()})"
    else:
        shutil.rmtree(repo_dir, ignore_errors=True)
        _, t_build, t_pack = build(repo_dir, key, n)
        how = (f"built a {n}-entry base ledger in {t_build:.1f} s with the direct writer + "
               f"{t_pack:.1f} s git repack")
        done.write_text(f"built in {t_build:.1f} s + {t_pack:.1f} s repack\n")
    if cache is None or not copy:
        return repo_dir, allowed, key, how
    work = tmp / "big"
    shutil.copytree(repo_dir, work, symlinks=True)
    return work, allowed, key, how


def cpu_all() -> float:
    """CPU seconds of this process and its finished children (verify's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed_verify(repo_dir: Path, allowed: Path, repeats: int, **opts  # type: ignore[no-untyped-def]
                 ) -> tuple[float, float]:
    """(median wall s, median CPU s over all processes) of full verifies."""
    times, cpus = [], []
    for _ in range(repeats):
        c0, t0 = cpu_all(), time.perf_counter()
        res = verify(repo_dir, allowed, **opts)
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_all() - c0)
        assert res.ok, res.failure
        assert res.tags_checked
    return statistics.median(times), statistics.median(cpus)


def timed_since(repo_dir: Path, allowed: Path, checkpoint: Any, state: Path,
                repeats: int) -> tuple[float, float, int]:
    """(median wall s, median CPU s, entries checked) of `verify --since`."""
    from promote_action.ledger.since import verify_since
    from promote_action.ledger.verify import Options
    from promote_action.signing.trust import TrustRoot

    times, cpus, checked = [], [], 0
    for _ in range(repeats):
        c0, t0 = cpu_all(), time.perf_counter()
        repo = open_repo(repo_dir)
        tip = repo.references[REF].resolve().target
        res = verify_since(repo, tip, TrustRoot.load(allowed), load_destinations(),
                           checkpoint, Options(state_dir=state))
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_all() - c0)
        assert res.ok and res.mode == "since", (res.failure, res.note)
        checked = res.checked
    return statistics.median(times), statistics.median(cpus), checked


def timed_cli(repo_dir: Path, args: list[str], repeats: int) -> tuple[float, int]:
    """(median wall s, output lines) of `kfm-promote ledger ARGS` in a fresh process."""
    times, rows = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "promote_action", "ledger", *args,
                              "--repo", str(repo_dir)],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
        rows = len(out.splitlines())
    return statistics.median(times), rows


def clone_size(repo_dir: Path, dst: Path) -> int:
    """Bytes of the packs a fresh `git clone --mirror` of the ledger holds."""
    subprocess.run(["git", "clone", "-q", "--mirror", "--no-local", str(repo_dir), str(dst)],
                   check=True)
    return sum(p.stat().st_size for p in (dst / "objects" / "pack").glob("*.pack"))


def appends(tmp: Path, key, small_dir: Path, big_dir: Path, small: int, big: int,  # type: ignore[no-untyped-def]
            samples: int, runs: int) -> bool:
    ratios = []
    lts = (trusted_target(small_dir, key), trusted_target(big_dir, key))
    for run in range(runs):
        lat_small, lat_big = append_latencies(lts, key, 20_000_000 + run * 1000, samples)
        ratios.append(lat_big / lat_small)
        print(f"append latency run {run + 1} (median of {samples} each, alternating, real "
              f"append_event incl. CAS): {lat_small * 1000:.1f} ms at {small} entries, "
              f"{lat_big * 1000:.1f} ms at {big} entries: ratio {ratios[-1]:.2f}")
    print(f"append ratio, worst of {runs} runs: {max(ratios):.2f} (target <= 1.20)")
    return max(ratios) <= 1.2


def sizes(tmp: Path, key, n: int, datasets: int) -> None:  # type: ignore[no-untyped-def]
    """Clone size and the dataset README's size at the end, per entry layout (v1: bundle
    under every record, unbounded README; v2: bundle once, bounded README; v3: v2 with
    fanned-out entries and version folders), for `n` promotions spread over `datasets`
    datasets (n / datasets versions each)."""
    out, readme = {}, {}
    for layout in ("v1", "v2", "v3"):
        d = tmp / f"size-{layout}-{datasets}"
        repo_dir, _, _ = build(d, key, n, layout, datasets)
        out[layout] = clone_size(repo_dir, d.with_name(d.name + "-clone")) * 1000 / n
        view = LedgerView(open_repo(repo_dir), open_repo(repo_dir).references[REF].target)
        readme[layout] = len(view.read("datasets/ds_000/README.md") or b"")
    print(f"ledger clone size per 1,000 promotions ({n} promotions over {datasets} datasets, "
          f"{n // datasets} versions each; git clone --mirror): "
          + ", ".join(f"{k} layout {v / 2**20:.2f} MiB ({v / out['v1']:.2f}x)"
                      for k, v in out.items())
          + "; a dataset README rewritten per promotion: "
          + ", ".join(f"{v / 1024:.1f} KiB ({k})" for k, v in readme.items()))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cache", type=Path, help="build the base ledger once into this dir")
    ap.add_argument("--build-only", action="store_true",
                    help="only build the cached base ledger (with --cache), then exit")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--skip-concurrent", action="store_true")
    a = ap.parse_args()
    if a.build_only:
        if a.cache is None:
            raise SystemExit("--build-only needs --cache DIR")
        print(cached_base(a.cache, a.cache, a.entries - 100, copy=False)[3])
        return 0
    big, small, samples, promoters = (a.entries, 100, 40, 8) if not a.smoke else (300, 30, 5, 3)
    tail = 100 if not a.smoke else 30
    cores = os.cpu_count() or 1
    ok = True
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="kfm-bench-ledger-",
                                     dir=shm if shm.is_dir() else None) as d:
        tmp = Path(d)
        print(f"machine: {cores} CPUs, load average {os.getloadavg()[0]:.2f}; "
              f"repeats: {a.repeats} (medians)")
        big_dir, allowed, key, how = cached_base(a.cache, tmp, big - tail)
        print(how)
        state = tmp / "state"
        base = verify(big_dir, allowed, state_dir=state)
        assert base.ok, base.failure
        checkpoint = parse_checkpoint(base.checkpoint or "")
        grow(big_dir, key, big - tail, big)
        t_since, c_since, checked = timed_since(big_dir, allowed, checkpoint, state,
                                                a.repeats)
        t_full, c_full = timed_verify(big_dir, allowed, a.repeats, jobs=cores)
        f_wall, f_cpu, _ = floor(big_dir)
        f_par = f_wall / cores
        print(f"verify --since a checkpoint {checked} entries before the tip of {big}: "
              f"{t_since:.3f} s ({c_since:.3f} s CPU); full verify {t_full:.2f} s with --jobs "
              f"{cores} ({c_full:.2f} s CPU): ratio {t_since / t_full:.4f} (targets <= 1 s "
              f"and <= 0.02); CPU ratio {c_since / c_full:.4f}")
        ok &= t_since <= 1.0 and t_since <= 0.02 * t_full
        print(f"verify floor (bench/verify_floor.py: only the reads, hashes, JSON and "
              f"signature checks per entry that no verifier can skip): {f_wall:.2f} s in one "
              f"process ({f_cpu:.2f} s CPU), so >= {f_par:.2f} s on {cores} cores; full "
              f"verify {t_full:.2f} s = {t_full / f_par:.2f}x that floor (target <= 1.25); "
              f"work: verify {c_full:.2f} s CPU over all its processes = "
              f"{c_full / f_cpu:.2f}x the floor's CPU")
        ok &= t_full <= 1.25 * f_par
        loop, n = verify_loop_seconds(big_dir, allowed, 300 if not a.smoke else 50)
        loop_all = loop * (big + 1) / n
        print(f"git verify-commit shell loop: {loop:.2f} s for a sample of {n} commits, "
              f"EXTRAPOLATED to {big + 1} commits: {loop_all:.1f} s; verify is "
              f"{loop_all / t_full:.1f}x faster (the loop checks commit signatures only)")
        t_log, rows = timed_cli(big_dir, ["log", "--dataset", "ds_007"], a.repeats)
        print(f"kfm-promote ledger log --dataset ds_007 ({rows} entries of {big}, a fresh "
              f"process): {t_log:.2f} s (target <= 1 s)")
        oldest = version_of(7)  # the dataset's first version: the deepest history to find
        t_show, _ = timed_cli(big_dir, ["show", "ds_007", oldest], a.repeats)
        print(f"kfm-promote ledger show ds_007 {oldest} (its oldest version, a fresh "
              f"process): {t_show:.2f} s (target <= 1 s)")
        ok &= t_log <= 1.0 and t_show <= 1.0
        small_dir, _, _ = build(tmp / "small", key, small)
        ok &= appends(tmp, key, small_dir, big_dir, small, big, samples, 3)
        for datasets in (100, 10):
            sizes(tmp, key, 1000 if not a.smoke else 100, datasets)
        if not a.skip_concurrent:
            one, many = concurrent_promoters(tmp / "conc", key_file_of(allowed), promoters)
            r3 = many / one
            print(f"{promoters} concurrent promoters: all landed in {many:.1f} s; one alone "
                  f"{one:.1f} s; ratio {r3:.2f} (target <= {promoters})")
            ok &= r3 <= promoters
    if a.smoke:
        return 0
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def key_file_of(allowed: Path) -> Path:
    """make_key writes `<name>` beside `<name>.allowed_signers`."""
    return allowed.with_name(allowed.name.removesuffix(".allowed_signers"))


if __name__ == "__main__":
    sys.exit(main())
