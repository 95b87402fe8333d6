"""`kfm-promote verify`: an auditor's offline check of the whole ledger history."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from promote_action.cli.common import add_format_flag, emit
from promote_action.cli.ledger_flags import add_ledger_flags, add_trust_flags


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify", help="verify the ledger offline (signatures, chain, files)",
                       description="Verify every ledger commit offline: signed by an allowed "
                                   "key at its time, linear, seq/prev chain intact, stored "
                                   "files match their digests, decision evidence and policy "
                                   "bundle consistent (no rollback), DSSE valid, signed tags "
                                   "in place, nothing replayed. Exit 0 and the checkpoint on "
                                   "success, 1 on the first bad entry.")
    add_ledger_flags(p)
    p.add_argument("--remote", help="read the ledger as last fetched from this remote")
    add_trust_flags(p)
    since = p.add_mutually_exclusive_group()
    since.add_argument("--checkpoint", metavar="CHECKPOINT",
                       help="a checkpoint printed earlier (SEQ:DIGEST:COMMIT, or the older "
                            "SEQ:DIGEST): full verify, plus proof the ledger only grew since")
    since.add_argument("--since", metavar="CHECKPOINT",
                       help="incremental: prove the checkpoint (SEQ:DIGEST:COMMIT) is still "
                            "a prefix of the ledger, then verify only the entries after it "
                            "(a full verify when no verified state for it is kept here)")
    p.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="where verify keeps its verified state for --since (default: "
                        "kfm-promote/verified in the repository's git directory)")
    p.add_argument("--require-tags", action="store_true",
                   help="fail when a promotion's signed tag is missing (default: tags are "
                        "checked whenever any kfm/ tag is present, since a clone may not "
                        "have fetched tags)")
    p.add_argument("--replay", action="store_true",
                   help="also re-evaluate every recorded decision from the stored capsule "
                        "and policy bundle on the embedded engine and on opa (when on PATH)"
                        "; any byte difference from decision.json fails")
    p.add_argument("--artifacts", action="store_true",
                   help="also re-hash every published object the ledger names (online: "
                        "reads object storage with the standard cloud credentials); a "
                        "missing or changed object fails, named by entry and URI")
    p.add_argument("--dataset", metavar="SLUG",
                   help="with --artifacts: only this dataset's published objects")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="worker processes (default: by ledger size and CPU count)")
    add_format_flag(p, ["text", "json"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pygit2

    from promote_action.cli.ledger_flags import target, trust_source
    from promote_action.ledger.policy_paths import load_destinations
    from promote_action.ledger.since import verify_since
    from promote_action.ledger.store import open_repo
    from promote_action.ledger.verify import Options, parse_checkpoint, verify_ledger
    from promote_action.ledger.writer import require_ledger

    if args.dataset is not None and not args.artifacts:
        from promote_action.errors import UsageError

        raise UsageError("--dataset applies to --artifacts")
    checkpoint = parse_checkpoint(args.checkpoint) if args.checkpoint else None
    since = parse_checkpoint(args.since, need_commit=True) if args.since else None
    repo = open_repo(args.repo)
    trust, source = trust_source(args).load(repo, args.remote)
    replayer = None
    if args.replay:
        from promote_action.ledger.replay import Replayer

        replayer = Replayer.available()
    lt = target(args)
    tip = require_ledger(lt)
    state_dir = args.state_dir or Path(repo.path) / "kfm-promote" / "verified"
    opts = Options(checkpoint=checkpoint, check_tags=True if args.require_tags else None,
                   replay=replayer, jobs=args.jobs, state_dir=state_dir)
    if since is not None:
        result = verify_since(repo, pygit2.Oid(hex=tip), trust, load_destinations(), since,
                              opts)
    else:
        result = verify_ledger(repo, pygit2.Oid(hex=tip), trust, load_destinations(),
                               options=opts)
    objects = check_artifacts(args, repo, tip) if args.artifacts and result.ok else None
    if args.format == "json":
        out = {**result.to_json(), "trust_root": source,
               "replay_engines": replayer.engine_names if replayer else []}
        if objects is not None:
            out["artifacts"] = {"checked": objects.checked,
                                "findings": [f.to_json() for f in objects.findings]}
        emit(json.dumps(out, indent=2, sort_keys=True) + "\n")
    elif result.ok:
        c = result.counts
        extra = ", tags checked" if result.tags_checked else ", no kfm/ tags present"
        if replayer:
            extra += (f", {result.replayed} decisions replayed byte for byte on "
                      f"{' and '.join(replayer.engine_names)}")
        if result.mode == "since":
            extra += (f"; incremental: {result.checked} new entries checked after "
                      f"checkpoint #{since.seq if since else 0}")
        elif result.note:
            extra += f"; {result.note}"
        emit(f"ledger OK: {result.entries} entries ({c.get('promotion', 0)} promotions, "
             f"{c.get('denied', 0)} denied, {c.get('quarantine', 0)} quarantines, "
             f"{c.get('quarantine_release', 0)} releases){extra}; head {result.head_commit}"
             f"\ntrust root: {source}\ncheckpoint: {result.checkpoint}\n")
        if objects is not None:
            emit(render_objects(objects))
    else:
        f = result.failure or {}
        emit(f"ledger INVALID at entry #{f.get('seq')} (commit {f.get('commit')}): "
             f"{f.get('why')}\n")
    return 0 if result.ok and not (objects and objects.findings) else 1


def check_artifacts(args: argparse.Namespace, repo: Any, tip: str) -> Any:
    """`--artifacts`: re-hash the published objects of the verified tip."""
    import os

    import pygit2

    from promote_action.ledger.published import check_published_objects
    from promote_action.ledger.store import LedgerView
    from promote_action.store.settings import StoreSettings

    view = LedgerView(repo, pygit2.Oid(hex=tip))
    return check_published_objects(view, StoreSettings.from_env(os.environ), args.dataset)


def render_objects(report: Any) -> str:
    if not report.findings:
        return f"published objects OK: {report.checked} re-hashed, all match the ledger\n"
    lines = [f"published objects INVALID: {len(report.findings)} of {report.checked}"]
    lines += [f"  entry #{f.seq} {f.dataset_slug} {f.dataset_version_id}: {f.problem} "
              f"{f.uri}: {f.detail}" for f in report.findings]
    return "\n".join(lines) + "\n"
