"""Flags shared by the ledger-writing and ledger-reading subcommands (import-light)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_ledger_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="git repository holding (or cloned from) the ledger (default: .)")
    p.add_argument("--ledger-branch", default="kfm-ledger",
                   help="ledger branch name (default: %(default)s)")


ALLOWED = "ledger/allowed_signers"
REVOKED = "ledger/revoked_signers"


def add_trust_flags(p: argparse.ArgumentParser) -> None:
    """Where the trust root is read from: the same flags for `verify` and the writers."""
    p.add_argument("--trust-branch", metavar="NAME",
                   help=f"branch whose {ALLOWED} and {REVOKED} are the trust root (default: "
                        "main, else the remote's HEAD, else <remote>/main)")
    p.add_argument("--allowed-signers", type=Path, metavar="FILE",
                   help="a trust root file overriding the trust branch's")
    p.add_argument("--revoked-signers", "--revoked", dest="revoked", type=Path,
                   metavar="FILE", help="a revocation list (default: "
                                        f"{REVOKED} on the trust branch, if present)")


def add_writer_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--remote", help="push to this remote (compare-and-swap, atomic with the "
                                    "tag); without it the local branch is updated in place")
    p.add_argument("--signing-key", type=Path, metavar="FILE",
                   help="OpenSSH ed25519 private key (default: $KFM_SIGNING_KEY contents); "
                        "refused unless the trust root admits it at the commit time")
    p.add_argument("--max-attempts", type=int, default=12,
                   help="compare-and-swap attempts before exit 3 (default: %(default)s)")
    add_trust_flags(p)


def load_key(args: argparse.Namespace, *, required: bool = True) -> Any:
    import os

    from promote_action.signing.keys import load_signing_key

    if not required and args.signing_key is None and not os.environ.get("KFM_SIGNING_KEY"):
        return None
    return load_signing_key(args.signing_key)


def trust_source(args: argparse.Namespace) -> Any:
    from promote_action.ledger.trustroot import TrustSource

    return TrustSource(getattr(args, "trust_branch", None),
                       getattr(args, "allowed_signers", None), getattr(args, "revoked", None))


def target(args: argparse.Namespace) -> Any:
    from promote_action.ledger.writer import LedgerTarget

    return LedgerTarget(args.repo, args.ledger_branch, getattr(args, "remote", None),
                        max(1, getattr(args, "max_attempts", 12)),
                        trust=trust_source(args))


def commit_time(repo_dir: Path, rev: str, flag: str) -> tuple[str, str]:
    """(RFC 3339 commit time, full sha) of `rev` in `repo_dir`: times come from git."""
    from datetime import UTC, datetime, timedelta, timezone

    import pygit2

    from promote_action.errors import InputError
    from promote_action.ledger.store import open_repo

    repo = open_repo(repo_dir)
    try:
        commit = repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        raise InputError(f"commit {rev!r} not found in {repo_dir}", field=flag) from None
    tz = timezone(timedelta(minutes=commit.commit_time_offset))
    at = datetime.fromtimestamp(commit.commit_time, tz=tz)
    text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text, str(commit.id)


def check_time(value: str, flag: str) -> str:
    from promote_action.errors import InputError
    from promote_action.ledger.append import git_time

    try:
        git_time(value)
    except InputError as e:
        raise InputError(e.message, field=flag) from None
    return value
