"""`kfm-promote hash`: "what id will my version get?" for a contributor."""

from __future__ import annotations

import argparse
from pathlib import Path

from promote_action.cli.common import add_format_flag, emit


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("hash", help="print spec_hash, dataset_slug and dataset_version_id")
    p.add_argument("--spec", type=Path, required=True, help="spec file or dataset directory")
    add_format_flag(p, ["text", "json"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from promote_action.spec import load_spec

    ident = load_spec(args.spec).identity
    if args.format == "json":
        emit(json.dumps({"spec_hash": ident.spec_hash, "dataset_slug": ident.dataset_slug,
                         "dataset_version_id": ident.dataset_version_id}, indent=2) + "\n")
    else:
        emit(f"spec_hash           {ident.spec_hash}\n"
             f"dataset_slug        {ident.dataset_slug}\n"
             f"dataset_version_id  {ident.dataset_version_id}\n")
    return 0
