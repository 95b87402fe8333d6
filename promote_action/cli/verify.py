"""`kfm-promote verify`: an auditor's offline check of the whole ledger history."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from promote_action.cli.common import add_format_flag, emit
from promote_action.cli.ledger_flags import add_ledger_flags

ALLOWED = "ledger/allowed_signers"
REVOKED = "ledger/revoked_signers"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify", help="verify the ledger offline (signatures, chain, files)",
                       description="Verify every ledger commit offline: signed by an allowed "
                                   "key at its time, linear, seq/prev chain intact, stored "
                                   "files match their digests, DSSE valid, nothing replayed. "
                                   "Exit 0 and the checkpoint on success, 1 on the first bad "
                                   "entry.")
    add_ledger_flags(p)
    p.add_argument("--remote", help="read the ledger as last fetched from this remote")
    p.add_argument("--allowed-signers", type=Path, metavar="FILE",
                   help=f"trust root (default: {ALLOWED} in --repo's worktree)")
    p.add_argument("--revoked", type=Path, metavar="FILE",
                   help=f"revoked keys (default: {REVOKED} in --repo's worktree, if present)")
    p.add_argument("--checkpoint", metavar="SEQ:DIGEST",
                   help="a checkpoint printed earlier: prove the ledger only grew since")
    add_format_flag(p, ["text", "json"])
    p.set_defaults(func=run)


def trust_files(args: argparse.Namespace) -> tuple[Path, Path | None]:
    from promote_action.errors import InputError

    allowed = args.allowed_signers or args.repo / ALLOWED
    if not allowed.is_file():
        raise InputError("allowed signers file not found (pass --allowed-signers)",
                         file=str(allowed))
    revoked = args.revoked or (args.repo / REVOKED)
    if args.revoked is not None and not revoked.is_file():
        raise InputError("revoked keys file not found", file=str(revoked))
    return allowed, revoked if revoked.is_file() else None


def run(args: argparse.Namespace) -> int:
    import pygit2

    from promote_action.cli.ledger_flags import target
    from promote_action.ledger.policy_paths import load_destinations
    from promote_action.ledger.store import open_repo
    from promote_action.ledger.verify import parse_checkpoint, verify_ledger
    from promote_action.ledger.writer import require_ledger
    from promote_action.signing.trust import TrustRoot

    checkpoint = parse_checkpoint(args.checkpoint) if args.checkpoint else None
    allowed, revoked = trust_files(args)
    trust = TrustRoot.load(allowed, revoked)
    lt = target(args)
    tip = require_ledger(lt)
    result = verify_ledger(open_repo(args.repo), pygit2.Oid(hex=tip), trust,
                           load_destinations(), checkpoint)
    if args.format == "json":
        emit(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
    elif result.ok:
        c = result.counts
        emit(f"ledger OK: {result.entries} entries ({c.get('promotion', 0)} promotions, "
             f"{c.get('denied', 0)} denied, {c.get('quarantine', 0)} quarantines, "
             f"{c.get('quarantine_release', 0)} releases), head {result.head_commit}\n"
             f"checkpoint: {result.checkpoint}\n")
    else:
        f = result.failure or {}
        emit(f"ledger INVALID at entry #{f.get('seq')} (commit {f.get('commit')}): "
             f"{f.get('why')}\n")
    return 0 if result.ok else 1
