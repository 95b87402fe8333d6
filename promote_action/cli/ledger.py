"""`kfm-promote ledger init|log|show`: create and read the ledger branch."""

from __future__ import annotations

import argparse
import json
from typing import Any

from promote_action.cli.common import add_format_flag, emit
from promote_action.cli.ledger_flags import add_ledger_flags, add_writer_flags


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ledger", help="create or read the ledger branch")
    lsub = p.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    init = lsub.add_parser("init", help="create the ledger branch (root commit: auditor "
                                        "README)")
    add_ledger_flags(init)
    add_writer_flags(init)
    init.add_argument("--at", metavar="RFC3339", help="root commit time (default: the commit "
                      "time of HEAD in --repo)")
    init.set_defaults(func=run_init)
    log = lsub.add_parser("log", help="list entries, newest first")
    add_ledger_flags(log)
    log.add_argument("--remote", help="read the ledger as last fetched from this remote")
    log.add_argument("--dataset", metavar="SLUG", help="only this dataset's entries")
    add_format_flag(log, ["text", "json"])
    log.set_defaults(func=run_log)
    show = lsub.add_parser("show", help="show a dataset (published pointer, versions) or "
                                        "one version's manifest and events")
    add_ledger_flags(show)
    show.add_argument("--remote", help="read the ledger as last fetched from this remote")
    show.add_argument("slug")
    show.add_argument("version", nargs="?")
    add_format_flag(show, ["text", "json"])
    show.set_defaults(func=run_show)


def run_init(args: argparse.Namespace) -> int:
    from promote_action.cli.ledger_flags import check_time, commit_time, load_key, target
    from promote_action.ledger import init_ledger

    at = (check_time(args.at, "--at") if args.at
          else commit_time(args.repo, "HEAD", "--repo")[0])
    key = load_key(args)
    tip, created = init_ledger(target(args), key, at)
    emit(f"ledger {args.ledger_branch}: {'created' if created else 'already exists'} "
         f"at {tip}\n")
    return 0


def _view(args: argparse.Namespace) -> Any:
    import pygit2

    from promote_action.cli.ledger_flags import target
    from promote_action.ledger.store import LedgerView, open_repo
    from promote_action.ledger.writer import require_ledger

    return LedgerView(open_repo(args.repo), pygit2.Oid(hex=require_ledger(target(args))))


def entries(view: Any, slug: str | None) -> list[dict[str, Any]]:
    out = []
    for shard in reversed(view.list_dir("entries")):
        for name in reversed(view.list_dir(f"entries/{shard}")):
            e = view.read_json(f"entries/{shard}/{name}")
            if isinstance(e, dict) and (slug is None or e.get("dataset_slug") == slug):
                out.append(e)
    return out


def run_log(args: argparse.Namespace) -> int:
    rows = entries(_view(args), args.dataset)
    if args.format == "json":
        emit(json.dumps(rows, indent=2, sort_keys=True) + "\n")
        return 0
    for e in rows:
        extra = e.get("manifest_digest") or ", ".join(r["code"] for r in e.get("reasons", []))
        if e.get("quarantine"):
            extra = e["quarantine"].get("reason_code", "")
        emit(f"#{e['seq']:<6} {e.get('at', ''):<21} {e['type']:<18} {e['dataset_slug']} "
             f"{e['dataset_version_id']}  {extra}\n")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from promote_action.errors import InputError
    from promote_action.ledger.entry import pointer_path, version_dir

    view = _view(args)
    if args.version is None:
        versions = [v for v in view.list_dir(f"datasets/{args.slug}") if v != "README.md"]
        if not versions:
            raise InputError(f"dataset {args.slug!r} is not on the ledger")
        data: dict[str, Any] = {"dataset_slug": args.slug,
                                "published": view.read_json(pointer_path(args.slug)),
                                "versions": versions}
    else:
        vdir = version_dir(args.slug, args.version)
        events = view.read_json(f"{vdir}/events.json")
        if events is None:
            raise InputError(f"{args.slug} {args.version} is not on the ledger")
        data = {"dataset_slug": args.slug, "dataset_version_id": args.version,
                "events": events, "manifest": view.read_json(f"{vdir}/manifest.json")}
    if args.format == "json":
        emit(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        emit(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return 0
