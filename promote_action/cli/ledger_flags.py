"""Flags shared by the ledger-writing and ledger-reading subcommands (import-light)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_ledger_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="git repository holding (or cloned from) the ledger (default: .)")
    p.add_argument("--ledger-branch", default="kfm-ledger",
                   help="ledger branch name (default: %(default)s)")


def add_writer_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--remote", help="push to this remote (compare-and-swap, atomic with the "
                                    "tag); without it the local branch is updated in place")
    p.add_argument("--signing-key", type=Path, metavar="FILE",
                   help="OpenSSH ed25519 private key (default: $KFM_SIGNING_KEY contents)")
    p.add_argument("--demo-key", action="store_true",
                   help="sign with a throw-away key generated now (demos only; loudly warned)")
    p.add_argument("--max-attempts", type=int, default=12,
                   help="compare-and-swap attempts before exit 3 (default: %(default)s)")


def load_key(args: argparse.Namespace, *, required: bool = True) -> Any:
    from promote_action.errors import UsageError
    from promote_action.signing.keys import generate_demo_key, load_signing_key

    if args.demo_key:
        if args.signing_key:
            raise UsageError("--demo-key and --signing-key are exclusive")
        key = generate_demo_key()
        print("kfm-promote: WARNING: --demo-key: signing with a THROW-AWAY key generated for "
              f"this run ({key.fingerprint}). Nothing signed with it can be trusted; never "
              "use --demo-key for a real ledger.", file=sys.stderr)
        return key
    import os

    if not required and args.signing_key is None and not os.environ.get("KFM_SIGNING_KEY"):
        return None
    return load_signing_key(args.signing_key)


def target(args: argparse.Namespace) -> Any:
    from promote_action.ledger.writer import LedgerTarget

    return LedgerTarget(args.repo, args.ledger_branch, getattr(args, "remote", None),
                        max(1, getattr(args, "max_attempts", 12)))


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
