"""Per-decision latency of the two policy engines on the fixture capsule, side by side.

The capsule is the one `validate --policy fixtures/policy` builds for the reference pass
dataset; each engine evaluates it through the product path (`decision.evaluate`): the
embedded engine (regorus, in-process, fresh interpreter per decision, policy re-parsed)
vs `opa eval` as a fresh process per decision (what the product does with `--engine opa`).
Both must give the same decision record; the embedded engine must be ≥ 5× faster.

    python bench/policy.py [--runs N] [--smoke]   (--smoke: few runs, no target)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATASET = REPO / "fixtures" / "pass" / "kansas_river_gauges"
POLICY = REPO / "fixtures" / "policy"
TARGET = 5.0


def fixture_capsule():  # type: ignore[no-untyped-def]
    from promote_action.pipeline import evaluate_dataset

    ev = evaluate_dataset(DATASET, policy_dirs=[POLICY], engine="embedded")
    return ev.bundle, ev.capsule


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up (imports, page cache)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args(argv)
    from promote_action.policy.decision import evaluate
    from promote_action.policy.engines import EmbeddedEngine, OpaEngine

    if not shutil.which("opa"):
        print("bench/policy.py: no `opa` on PATH (../shared/bin/opa in CI)")
        return 0 if args.smoke else 1
    bundle, capsule = fixture_capsule()
    embedded, opa = EmbeddedEngine(), OpaEngine()
    rec_e = evaluate(bundle, capsule, embedded).record()
    rec_o = evaluate(bundle, capsule, opa).record()
    same = rec_e["decision_id"] == rec_o["decision_id"]
    runs_e = args.runs or (5 if args.smoke else 200)
    runs_o = args.runs or (3 if args.smoke else 30)
    emb = median_ms(lambda: evaluate(bundle, capsule, embedded), runs_e)
    ext = median_ms(lambda: evaluate(bundle, capsule, opa), runs_o)
    ratio = ext / emb if emb else float("inf")
    print(f"capsule: {DATASET.relative_to(REPO)} (stage check), policy modules: "
          f"{len(bundle.modules)}, outcome: {rec_e['outcome']}")
    print(f"{'engine':<34}{'median ms':>10}{'runs':>7}")
    print(f"{'embedded (regorus, in-process)':<34}{emb:>10.2f}{runs_e:>7}")
    print(f"{'opa eval (fresh process)':<34}{ext:>10.2f}{runs_o:>7}")
    print(f"speed-up: {ratio:.1f}x (target >= {TARGET:g}x); identical decision_id: {same}")
    if not same:
        print("MISS: engines disagree on the fixture capsule")
        return 1
    if args.smoke:
        return 0
    if ratio < TARGET:
        print(f"MISS: embedded engine is only {ratio:.1f}x faster than opa eval")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
