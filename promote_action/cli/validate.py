"""`kfm-promote validate`: the PR check without GitHub (gates A–G, policy, report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from promote_action.cli.common import (
    add_format_flag,
    add_policy_flags,
    add_schemas_flag,
    emit,
    write_atomic,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate", help="check a dataset against gates A-G and the policy",
                       description="Validate one dataset version (gates A-G, then the OPA "
                                   "policy) without writing anything but the report.")
    p.add_argument("--spec", type=Path, required=True,
                   help="dataset spec (spec.yaml/spec.json) or its directory")
    p.add_argument("--workspace", type=Path, help="directory paths are relative to "
                   "(default: the spec's directory)")
    p.add_argument("--dataset-slug", help="must equal the spec's dataset_slug")
    p.add_argument("--dataset-version-id", help="must equal the id the spec derives")
    p.add_argument("--require-sbom", action="store_true", help="gate G: SBOM is mandatory")
    p.add_argument("--require-provenance", action="store_true",
                   help="gate G: build provenance is mandatory")
    add_policy_flags(p)
    add_schemas_flag(p)
    add_format_flag(p, ["text", "json", "github", "sarif", "junit"])
    p.add_argument("--report", type=Path, help="also write the JSON report here")
    p.add_argument("--decision-out", type=Path, help="also write the decision record here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from promote_action.gates.base import Options
    from promote_action.pipeline import evaluate_dataset
    from promote_action.report.model import build_report
    from promote_action.report.reporters import REPORTER_BY_NAME, render_json
    from promote_action.stac_schemas.store import explicit_store

    ev = evaluate_dataset(
        args.spec, workspace=args.workspace,
        options=Options(expected_slug=args.dataset_slug,
                        expected_version_id=args.dataset_version_id,
                        require_sbom=args.require_sbom,
                        require_provenance=args.require_provenance,
                        stac_schemas=explicit_store(args.schemas)),
        policy_dirs=args.policy, engine=args.engine, stage="check",
    )
    report = build_report(ev)
    prefix = _prefix(ev.workspace.root)
    out = REPORTER_BY_NAME[args.format](report, prefix=prefix, locate=ev.line_of)
    if args.report:
        write_atomic(args.report, render_json(report))
    if args.decision_out:
        import json

        write_atomic(args.decision_out, json.dumps(ev.decision.record(), indent=2) + "\n")
    emit(out)
    return 0 if report["decision"] == "pass" else 1


def _prefix(root: Path) -> str:
    try:
        rel = root.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel + "/"
