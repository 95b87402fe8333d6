"""`kfm-promote schemas add|sync`: bring STAC extension schemas under review.

The only commands that touch the network (validation never does). They write the schema
files and the lock; committing them is the review.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from promote_action.cli.common import emit


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("schemas", help="add or re-fetch reviewed STAC extension schemas",
                       description="Keep the STAC extension schemas a repository accepts in "
                                   "a directory with a lock file (schema $id -> SHA-256). "
                                   "validate resolves extensions from there only.")
    ops = p.add_subparsers(dest="schemas_command", metavar="COMMAND", required=True)
    a = ops.add_parser("add", help="store schemas (URLs or files) and what they $ref",
                       description="Store each schema under its $id, follow its $refs "
                                   "(fetching those the directory lacks), pin SHA-256 "
                                   "digests in the lock.")
    a.add_argument("sources", nargs="+", metavar="SOURCE", help="schema URL or local file")
    a.add_argument("--as", dest="as_url", metavar="URL",
                   help="the URL one local file is the document of (a JSON-LD context or "
                        "a schema without $id)")
    _dir_flag(a)
    a.set_defaults(func=run_add)
    s = ops.add_parser("sync", help="re-fetch every schema the lock names and re-pin it",
                       description="Re-fetch every schema in the lock (from the URL it was "
                                   "added from) and rewrite files and digests; review the "
                                   "diff before committing.")
    _dir_flag(s)
    s.set_defaults(func=run_sync)


def _dir_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", type=Path, default=Path("schemas/stac"),
                   help="schema directory (default: %(default)s)")


def _print(verb: str, entries: list) -> None:  # type: ignore[type-arg]
    lines = [f"{verb} {e.url} -> {e.file} sha256:{e.sha256}\n" for e in entries]
    emit("".join(lines))


def run_add(args: argparse.Namespace) -> int:
    from promote_action.errors import UsageError
    from promote_action.stac_schemas.fetch import add

    if args.as_url is not None and len(args.sources) != 1:
        raise UsageError("--as names the URL of exactly one SOURCE", field="--as")
    _print("pinned", add(args.dir, [str(s) for s in args.sources], as_url=args.as_url))
    return 0


def run_sync(args: argparse.Namespace) -> int:
    from promote_action.stac_schemas.fetch import sync

    _print("re-pinned", sync(args.dir))
    return 0
