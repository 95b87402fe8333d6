"""Nothing lost under load and SIGKILL: N promoter processes x R rounds against one bare
origin, each in its own clone (as CI runners are), a seeded random subset killed at random
points (while gates hash, while signing, mid-push: the kill time is drawn across the whole
life of a promotion). Some rounds re-promote an earlier version and some have two
promoters race on the same version, so idempotency is exercised under contention.

Afterwards: `verify` passes, every promotion a process reported as recorded is on the
ledger exactly once, and re-running every killed/failed one completes it, no duplicate."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from promote_harness import assert_chain_whole, verify_json
from reliability_lib import Job, Site, dataset, run_jobs


def plan_round(site: Site, r: int, n: int, rng: random.Random,
               history: dict[int, tuple[Path, str]], p_kill: float) -> list[Job]:
    """Round r: promoter i promotes a new version of its dataset, except that every third
    round it re-promotes its previous version, and on odd rounds promoter 2k+1 races
    promoter 2k on the same new version."""
    jobs = []
    for i in range(n):
        if r % 3 == 2 and i in history:
            ds, version = history[i]
        elif r % 2 == 1 and i % 2 == 1:
            ds, version = dataset(site.root / "data", f"rel_p{i - 1:02d}", f"r{r:02d}")
        else:
            ds, version = dataset(site.root / "data", f"rel_p{i:02d}", f"r{r:02d}")
            history[i] = (ds, version)
        kill_at = rng.uniform(0.05, 3.0) if rng.random() < p_kill else None
        jobs.append(Job((ds.name, version), site.argv(i, ds, version), kill_at=kill_at,
                        who=i))
    return jobs


def fleet(tmp_path: Path, n: int, rounds: int, seed: int, p_kill: float
          ) -> dict[str, float]:
    site = Site.create(tmp_path)
    rng = random.Random(seed)
    history: dict[int, tuple[Path, str]] = {}
    wanted: set[tuple[str, str]] = set()
    redo: list[Job] = []
    killed = 0
    reported: list[tuple[str, str]] = []
    t0 = time.monotonic()
    for r in range(rounds):
        jobs = plan_round(site, r, n, rng, history, p_kill)
        run_jobs(jobs)
        for j in jobs:
            wanted.add(j.key)
            assert "Traceback" not in j.err, j.err
            if j.succeeded:
                reported.append(j.key)
            elif j.killed:
                killed += 1
                redo.append(j)
            else:  # a live process may only lose the CAS too often (exit 3), never more
                assert j.code == 3 and "contention" in j.err, (j.key, j.code, j.out, j.err)
                redo.append(j)
    t_fleet = time.monotonic() - t0
    code, out = verify_json(site.origin, site.allowed)
    assert code == 0, out
    landed = [(e["dataset_slug"], e["dataset_version_id"])
              for e in assert_chain_whole(site.origin)]
    assert all(e[0].startswith("rel_p") for e in landed)
    for key in set(reported):
        assert landed.count(key) == 1, key
    assert set(landed) <= wanted
    t1, failed = time.monotonic(), len(redo)
    while redo:  # re-run the killed ones concurrently, one process per runner's clone
        again, seen = [], set()
        for j in list(redo):
            if j.who not in seen:
                seen.add(j.who)
                redo.remove(j)
                again.append(Job(j.key, j.argv, who=j.who))
        run_jobs(again)
        for j in again:
            assert j.succeeded, (j.key, j.code, j.out, j.err)
    code, out = verify_json(site.origin, site.allowed)
    assert code == 0, out
    final = assert_chain_whole(site.origin)
    assert sorted((e["dataset_slug"], e["dataset_version_id"]) for e in final) == sorted(wanted)
    assert out["counts"]["promotion"] == len(wanted) and out["counts"]["denied"] == 0, out
    return {"fleet_s": t_fleet, "rerun_s": time.monotonic() - t1, "killed": killed,
            "rerun": failed,
            "versions": len(wanted)}


def test_small_fleet_with_kills_loses_and_duplicates_nothing(tmp_path: Path):
    stats = fleet(tmp_path, n=4, rounds=3, seed=7, p_kill=0.3)
    print(f"\nreliability fleet 4x3: {stats}")
    assert stats["versions"] == 6


@pytest.mark.slow
def test_sixteen_promoters_twenty_rounds_with_kills(tmp_path: Path):
    stats = fleet(tmp_path, n=16, rounds=20, seed=20260220, p_kill=0.2)
    print(f"\nreliability fleet 16x20: {stats}")
    assert stats["killed"] > 0
