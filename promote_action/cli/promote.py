"""`kfm-promote promote`: gates + policy again, then manifest, receipt, signed ledger entry."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from promote_action.cli.common import add_format_flag, add_policy_flags, add_schemas_flag, emit
from promote_action.cli.ledger_flags import add_ledger_flags, add_writer_flags

EPILOG = """\
approvals: --approver "principal:<id>" is repeatable; --approver-role is given once (applies
to all) or once per approver; --approved-at RFC3339 likewise (default: the release time).
Times come from inputs (flags or the merge commit), never from the clock.
exit codes: 0 recorded / already recorded / dry run passes, 1 denied (recorded as a
`denied` entry) or version conflict, 2 bad input or no signing key, 3 ledger contention.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("promote", help="promote a dataset version onto the signed ledger",
                       description="Re-run gates A-G and the policy with approvals, then "
                                   "write the promotion manifest (DSSE), run receipt, report "
                                   "and decision as ONE signed ledger commit + signed tag.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset-slug", required=True)
    p.add_argument("--dataset-version-id", required=True)
    p.add_argument("--spec", type=Path, required=True, help="spec file or dataset directory")
    p.add_argument("--outputs", type=Path, help="processed + catalog outputs directory "
                   "(the workspace; default: the spec's directory)")
    p.add_argument("--approver", action="append", default=[], metavar="principal:<id>")
    p.add_argument("--approver-role", action="append", default=[], metavar="ROLE")
    p.add_argument("--approved-at", action="append", default=[], metavar="RFC3339")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--released-at", metavar="RFC3339", help="release time")
    when.add_argument("--released-from-commit", metavar="SHA",
                      help="take the release time from this commit in --repo (the merge)")
    p.add_argument("--source-repo", default="", help="source repository (e.g. owner/name)")
    p.add_argument("--pr", type=int, help="number of the merged pull request")
    p.add_argument("--merge-commit", metavar="SHA", help="merge commit (default: "
                   "--released-from-commit, else HEAD of --repo)")
    p.add_argument("--container-digest", help="digest of the image this run executes in")
    p.add_argument("--publish-to", metavar="URI",
                   help="copy every verified artifact, create-only and re-verified, to "
                        "URI/<slug>/<version>/<path> before the ledger commit (the prefix "
                        "must be in data.kfm.publish_prefixes of the policy; credentials "
                        "from the standard cloud environment)")
    add_ledger_flags(p)
    add_writer_flags(p)
    p.add_argument("--dry-run", action="store_true", help="check everything, print what "
                   "would be written, mutate nothing")
    p.add_argument("--staged-patch", type=Path, metavar="FILE", help="write a git bundle of "
                   "the would-be ledger commit (and tag) instead of committing")
    add_policy_flags(p)
    add_schemas_flag(p)
    add_format_flag(p, ["text", "json"])
    p.set_defaults(func=run)


def approvals(args: argparse.Namespace, released_at: str) -> list[Any]:
    from promote_action.cli.ledger_flags import check_time
    from promote_action.errors import UsageError
    from promote_action.policy.capsule import Approval

    n = len(args.approver)

    def spread(values: list[str], flag: str, default: str | None) -> list[str]:
        if not values:
            if default is None:
                raise UsageError(f"{flag} is required with --approver")
            return [default] * n
        if len(values) == 1:
            return values * n
        if len(values) != n:
            raise UsageError(f"give {flag} once or once per --approver ({n})")
        return values

    roles = spread(args.approver_role, "--approver-role", None) if n else []
    times = [check_time(t, "--approved-at")
             for t in spread(args.approved_at, "--approved-at", released_at)] if n else []
    out = []
    for who, role, at in zip(args.approver, roles, times, strict=True):
        principal = who.removeprefix("principal:")
        if not principal or any(c.isspace() for c in principal):
            raise UsageError(f"--approver {who!r}: expected principal:<id>")
        out.append(Approval(role, principal, at))
    return out


def build_request(args: argparse.Namespace) -> Any:
    from promote_action.cli.ledger_flags import check_time, commit_time, load_key, target
    from promote_action.errors import UsageError
    from promote_action.promote import PromoteRequest

    writing = not args.dry_run
    if args.released_from_commit:
        released_at, merge = commit_time(args.repo, args.released_from_commit,
                                         "--released-from-commit")
    elif args.released_at:
        released_at, merge = check_time(args.released_at, "--released-at"), None
    else:
        raise UsageError("--released-at or --released-from-commit is required (the release "
                         "time comes from inputs, never the clock)")
    if args.merge_commit:
        merge = commit_time(args.repo, args.merge_commit, "--merge-commit")[1]
    git_commit = merge or commit_time(args.repo, "HEAD", "--repo")[1]
    key = load_key(args, required=writing)
    settings = None
    if args.publish_to is not None:
        import os

        from promote_action.store.settings import StoreSettings

        settings = StoreSettings.from_env(os.environ)
    return PromoteRequest(
        spec=args.spec, dataset_slug=args.dataset_slug,
        dataset_version_id=args.dataset_version_id, approvals=approvals(args, released_at),
        released_at=released_at, git_commit=git_commit, ledger=target(args), key=key,
        source={"repo": args.source_repo, "pr": args.pr, "merge_commit": merge},
        outputs=args.outputs, dry_run=args.dry_run, staged_patch=args.staged_patch,
        policy_dirs=args.policy, engine=args.engine, container_digest=args.container_digest,
        publish_to=args.publish_to, store_settings=settings, schemas=args.schemas)


def run(args: argparse.Namespace) -> int:
    from promote_action.ledger.writer import describe
    from promote_action.promote import promote

    result = promote(build_request(args))
    info = describe(result.append)
    out = {**info, "status": result.status, "outcome": result.outcome,
           "dataset_slug": args.dataset_slug, "dataset_version_id": args.dataset_version_id,
           "reasons": result.reasons, "published": result.published}
    if args.format == "json":
        emit(json.dumps(out, indent=2, sort_keys=True) + "\n")
    else:
        emit(render_text(out))
    return result.exit_code


def render_text(out: dict[str, Any]) -> str:
    status = out["status"]
    head = {
        "recorded": "promoted and recorded", "already_recorded": "already recorded (no-op)",
        "denied": "DENIED (recorded as a denied entry)", "conflict": "DENIED",
        "dry_run": "dry run: nothing written", "staged": "staged patch written",
    }.get(status, status)
    lines = [f"{out['dataset_slug']} {out['dataset_version_id']}: {head}"
             + (f" [outcome: {out['outcome']}]" if status in ("dry_run", "staged") else "")]
    if out.get("message"):
        lines.append(f"  {out['message']}")
    for r in out["reasons"]:
        lines.append(f"  - {r['code']}: {r['message']}")
    for o in out.get("published", []):
        verb = {"would_create": "would copy", "created": "copied",
                "exists": "already published"}.get(o["status"], o["status"])
        lines.append(f"  {verb} {o['path']} -> {o['uri']} {o['digest']}")
    if status in ("recorded", "denied", "dry_run", "staged"):
        verb = "wrote" if status in ("recorded", "denied") else "would write"
        for path, digest in out.get("files", {}).items():
            lines.append(f"  {verb} {path} {digest}")
        if out.get("commit"):
            lines.append(f"  commit {out['commit']}" + (f" tag {out['tag']}" if out.get("tag")
                                                          else ""))
        if status in ("dry_run", "staged") and out.get("entry"):
            lines.append("  entry: " + json.dumps(out["entry"], sort_keys=True))
    return "\n".join(lines) + "\n"
