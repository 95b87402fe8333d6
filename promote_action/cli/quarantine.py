"""`kfm-promote quarantine [release]`: record a quarantine (or its release) on the ledger."""

from __future__ import annotations

import argparse
import json

from promote_action.cli.common import add_format_flag, emit
from promote_action.cli.ledger_flags import add_ledger_flags, add_writer_flags


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("quarantine", help="record a quarantine or its release on the ledger",
                       description="Record that a dataset version is quarantined (reason code "
                                   "and remediation) or released, as one signed ledger entry. "
                                   "A quarantined published version is flagged in its "
                                   "published pointer.")
    p.add_argument("action", nargs="?", choices=["release"], help="release the quarantine")
    p.add_argument("--dataset-slug", required=True)
    p.add_argument("--dataset-version-id", required=True)
    p.add_argument("--reason-code", required=True, help="e.g. license_unclear, "
                   "sensitivity_unclear, validation_failed, upstream_unstable")
    p.add_argument("--remediation", required=True, help="what must happen (or happened)")
    p.add_argument("--owner", metavar="principal:<id>", help="who owns the remediation")
    p.add_argument("--due", metavar="DATE", help="remediation due date")
    p.add_argument("--actor", required=True, metavar="principal:<id>",
                   help="who records this event")
    p.add_argument("--actor-role", default="steward")
    p.add_argument("--at", required=True, metavar="RFC3339", help="event time (from the "
                   "triggering record; never the clock)")
    add_ledger_flags(p)
    add_writer_flags(p)
    add_format_flag(p, ["text", "json"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from promote_action.cli.ledger_flags import check_time, load_key, target
    from promote_action.errors import InputError
    from promote_action.ledger import QUARANTINE_REASONS, quarantine_event
    from promote_action.ledger.writer import append_event, describe
    from promote_action.spec import SLUG_RE, VERSION_ID_RE

    if not SLUG_RE.match(args.dataset_slug):
        raise InputError("invalid dataset slug", field="--dataset-slug")
    if not VERSION_ID_RE.match(args.dataset_version_id):
        raise InputError("invalid dataset version id", field="--dataset-version-id")
    if args.reason_code not in QUARANTINE_REASONS:
        raise InputError(f"unknown reason code {args.reason_code!r} (one of: "
                         f"{', '.join(QUARANTINE_REASONS)})", field="--reason-code")
    ev = quarantine_event(
        release=args.action == "release", slug=args.dataset_slug,
        version=args.dataset_version_id, at=check_time(args.at, "--at"),
        reason_code=args.reason_code, remediation=args.remediation,
        owner=args.owner.removeprefix("principal:") if args.owner else None, due=args.due,
        actor={"principal": args.actor.removeprefix("principal:"), "role": args.actor_role},
        source={"repo": "", "pr": None, "merge_commit": None})
    result = append_event(target(args), ev, load_key(args))
    info = describe(result)
    if args.format == "json":
        emit(json.dumps(info, indent=2, sort_keys=True) + "\n")
    else:
        what = "release" if args.action == "release" else "quarantine"
        msg = {"recorded": f"{what} recorded as entry #{info['seq']} ({info['commit']})",
               "already_recorded": f"already recorded: {info.get('message', '')}",
               "conflict": f"refused: {info.get('message', '')}"}[result.status]
        emit(f"{args.dataset_slug} {args.dataset_version_id}: {msg}\n")
    return 1 if result.status == "conflict" else 0
