"""`kfm-promote policy`: test the policy (Rego unit tests) and evaluate a capsule.

`policy test [DIR...]` runs the `test_*` rules of the built-in policy plus the given
directories, merged exactly as `--policy DIR` merges them for a real decision, on either
engine, so a steward without `opa` can test the rules they add. Exit 0 all pass,
1 a test failed, 2 the policy does not load.

`policy eval --capsule FILE` prints the decision record for a capsule (replays a
recorded decision; exit 0 pass, 1 deny/quarantine).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from promote_action.cli.common import emit, write_atomic


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("policy", help="test the Rego policy or evaluate a capsule",
                       description="Policy tools: run Rego unit tests on either engine, or "
                                   "evaluate a promotion capsule.")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION")
    t = psub.add_parser("test", help="run Rego tests (rules named test_*)",
                        description="Run the test_* rules of the built-in policy plus DIRs "
                                    "(merged as --policy merges them). Exit 0 all pass, 1 a "
                                    "test failed, 2 the policy does not load.")
    t.add_argument("dirs", nargs="*", type=Path, metavar="DIR",
                   help="extra policy directories (Rego + data), as given to --policy")
    t.add_argument("--engine", choices=["auto", "opa", "embedded"], default="auto",
                   help="opa (runs `opa test`), embedded (regorus), auto (opa if on PATH)")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    t.set_defaults(func=run_test)
    e = psub.add_parser("eval", help="evaluate a capsule and print its decision record",
                        description="Evaluate a promotion capsule (JSON, validated against "
                                    "promote_capsule.schema.json) and print decision.json.")
    e.add_argument("--capsule", type=Path, required=True, help="capsule JSON file")
    e.add_argument("--policy", action="append", type=Path, default=[], metavar="DIR",
                   help="extra policy directory; repeatable")
    e.add_argument("--engine", choices=["auto", "opa", "embedded"], default="auto")
    e.add_argument("--out", type=Path, help="also write the decision record here")
    e.set_defaults(func=run_eval)
    p.set_defaults(func=_usage(p))


def _usage(p: argparse.ArgumentParser):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        p.print_help()
        return 2
    return run


def run_test(args: argparse.Namespace) -> int:
    from promote_action.policy import rego_tests
    from promote_action.policy.bundle import load_bundle
    from promote_action.policy.engines import OpaEngine, select_engine

    bundle = load_bundle(list(args.dirs))
    engine = select_engine(args.engine)
    if isinstance(engine, OpaEngine):
        run = rego_tests.run_opa(bundle, verbose=args.verbose)
    else:
        run = rego_tests.run_embedded(bundle)
    emit(run.render(verbose=args.verbose))
    return 1 if run.failed else 0


def run_eval(args: argparse.Namespace) -> int:
    import json

    from promote_action.policy.bundle import load_bundle
    from promote_action.policy.decision import evaluate
    from promote_action.policy.engines import select_engine
    from promote_action.safeload import load_document
    from promote_action.schemas import require_valid

    doc = load_document(args.capsule, display=str(args.capsule))
    require_valid("promote_capsule.schema.json", doc.data, file=str(args.capsule))
    bundle = load_bundle(list(args.policy))
    decision = evaluate(bundle, doc.data, select_engine(args.engine))
    text = json.dumps(decision.record(), indent=2) + "\n"
    if args.out:
        write_atomic(args.out, text)
    emit(text)
    return 0 if decision.outcome == "pass" else 1
