"""`kfm-promote ledger init|log|show|replay`: create, read and re-check the ledger branch."""

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
    replay = lsub.add_parser("replay", help="re-evaluate a version's recorded decisions from "
                                            "the stored capsule and policy bundle (embedded "
                                            "engine, and opa when on PATH)")
    add_ledger_flags(replay)
    replay.add_argument("--remote", help="read the ledger as last fetched from this remote")
    replay.add_argument("slug")
    replay.add_argument("version")
    add_format_flag(replay, ["text", "json"])
    replay.set_defaults(func=run_replay)


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
    if slug is not None:  # from the dataset's verified events, not every entry
        from promote_action.ledger.query import dataset_entries

        return dataset_entries(view, slug)
    out = []
    for path in view.entry_files():
        e = view.read_json(path)
        if isinstance(e, dict):
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
    from promote_action.ledger.entry import pointer_path
    from promote_action.ledger.query import dataset_versions, version_folder

    view = _view(args)
    if args.version is None:
        versions = sorted(dataset_versions(view, args.slug))
        if not versions:
            raise InputError(f"dataset {args.slug!r} is not on the ledger")
        data: dict[str, Any] = {"dataset_slug": args.slug,
                                "published": view.read_json(pointer_path(args.slug)),
                                "versions": versions}
    else:
        vdir = version_folder(view, args.slug, args.version)
        events = view.read_json(f"{vdir}/events.json") if vdir else None
        if vdir is None or events is None:
            raise InputError(f"{args.slug} {args.version} is not on the ledger")
        data = {"dataset_slug": args.slug, "dataset_version_id": args.version,
                "events": events, "manifest": view.read_json(f"{vdir}/manifest.json")}
    emit(json.dumps(data, indent=2, sort_keys=True) + "\n" if args.format == "json"
         else show_text(data))
    return 0


def show_text(data: dict[str, Any]) -> str:
    """Human-readable `ledger show`: the pointer and versions, or one version's events."""
    lines = [f"dataset: {data['dataset_slug']}"]
    if "versions" in data:
        p = data.get("published")
        if p:
            q = "  QUARANTINED" if p.get("quarantine") else ""
            lines.append(f"published: {p['dataset_version_id']} (entry #{p['ledger_seq']}, "
                         f"manifest {p['manifest_digest']}, released {p.get('released_at')})"
                         f"{q}")
        else:
            lines.append("published: none")
        lines.append(f"versions ({len(data['versions'])}):")
        lines += [f"  {v}" for v in data["versions"]]
        return "\n".join(lines) + "\n"
    lines.append(f"version: {data['dataset_version_id']}")
    m = data.get("manifest")
    if m:
        lines.append(f"released: {m.get('released_at')}  policy label: "
                     f"{m.get('policy', {}).get('policy_label')}")
        lines.append(f"decision: {m.get('policy', {}).get('decision_id')}")
        lines += [f"  artifact {a['path']}  {a['digest']}" for a in m.get("artifacts", [])]
        lines += [f"  catalog  {c['path']}  {c['digest']}" for c in m.get("catalogs", [])]
    lines.append("events:")
    for ev in data["events"]:
        who = ", ".join(f"{a.get('role')}:{a.get('principal')}"
                        for a in ev.get("approvals") or [])
        what = ", ".join(ev.get("reason_codes") or [])
        lines.append(f"  #{ev.get('seq'):<6} {ev.get('at', ''):<21} {ev.get('type', ''):<18} "
                     f"{what or ev.get('manifest_digest') or ''}"
                     f"{'  approvals: ' + who if who else ''}")
    return "\n".join(lines) + "\n"


def run_replay(args: argparse.Namespace) -> int:
    from promote_action.errors import InputError
    from promote_action.ledger.query import version_folder
    from promote_action.ledger.replay import Replayer, tree_reader

    view = _view(args)
    vdir = version_folder(view, args.slug, args.version)
    bases = []
    if vdir is not None:
        bases = [vdir] if view.read(f"{vdir}/decision.json") is not None else []
        bases += [f"{vdir}/denied/{d}" for d in view.list_dir(f"{vdir}/denied")]
    if not bases:
        raise InputError(f"{args.slug} {args.version} has no recorded decision on the ledger")
    replayer = Replayer.available()
    read = tree_reader(view.repo, view.tree)
    results = [{"record": b, **replayer.replay_record(read, b)} for b in bases]
    if args.format == "json":
        emit(json.dumps({"engines": replayer.engine_names, "records": results}, indent=2,
                        sort_keys=True) + "\n")
    else:
        for r in results:
            if r["mismatch"]:
                emit(f"MISMATCH {r['record']}: {r['mismatch']}\n")
            else:
                ids = sorted(set(r["engines"].values()))
                emit(f"reproduced {r['record']}/decision.json byte for byte on "
                     f"{', '.join(r['engines'])}: {', '.join(ids)}\n")
    return 1 if any(r["mismatch"] for r in results) else 0
