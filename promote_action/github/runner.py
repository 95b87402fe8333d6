"""Pieces shared by the action's modes: options, evaluation, and publishing results.

Publishing order is fixed: annotations and outputs first, then the job summary, then
the PR comment last, because the comment is the one surface that may be impossible
(fork PRs have a read-only token). Whatever happens to the comment, the exit code is
the decision's.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promote_action.errors import Error
from promote_action.github.api import COMMENT_MARKER, GitHubApiError, GitHubClient
from promote_action.github.context import GitHubEnv
from promote_action.github.outputs import append_summary, error_command, set_outputs
from promote_action.report.markdown import DatasetOutcome, RenderContext, overall, render

EXIT = {"pass": 0, "deny": 1, "quarantine": 1, "error": 2}


@dataclass
class ActionOptions:
    repo: Path
    policy_dirs: list[str] = field(default_factory=lambda: ["policy"])
    datasets: str | None = None
    engine: str = "auto"
    ledger_branch: str = "kfm-ledger"
    remote: str = "origin"
    signing_key: str | None = None    # key material (from a secret), never logged
    signing_key_file: Path | None = None
    allowed_signers: str = "ledger/allowed_signers"
    comment: bool = True
    report_dir: Path | None = None
    checkpoint: str | None = None  # verify: continue from it (verify --since)
    state_dir: str | None = None  # verify: where verified state is kept between runs
    publish_to: str | None = None  # promote: object-store root for the controlled write
    schemas: str = "schemas/stac"  # reviewed STAC extension schemas, read from the base

    def trust_argv(self) -> list[str]:
        """`--allowed-signers` (and `--revoked-signers` when the file beside it exists)
        from the checkout. Both modes that read it run on the default branch (promote
        refuses any other ref, verify runs on schedule), so the checkout IS the default
        branch's committed trust root; naming the files also works when the runner has no
        local branch ref for it."""
        allowed = self.repo / self.allowed_signers
        argv = ["--allowed-signers", str(allowed)]
        revoked = allowed.with_name("revoked_signers")
        if revoked.is_file():
            argv += ["--revoked-signers", str(revoked)]
        return argv


def evaluate_dir(repo: Path, directory: str, policy_dirs: Sequence[Path], engine: str,
                 *, stage: str = "check", approvals: Sequence[Any] = (),
                 stac_schemas: Any = None, publish_to: str | None = None
                 ) -> tuple[DatasetOutcome, list[str]]:
    """Judge one dataset dir; an unreadable dataset is an outcome, not a crash.

    With `publish_to` (promote mode), the capsule carries the same `publish` section that
    `kfm-promote promote --publish-to` will put before the policy, so the report, the
    summary and the PR comment show the decision the ledger records (e.g.
    `F.publish_prefix_not_allowed`), never a PASS that the promotion then denies."""
    from promote_action.gates.base import Options
    from promote_action.pipeline import evaluate_dataset
    from promote_action.report.model import build_report
    from promote_action.report.reporters import render_github

    try:
        ev = evaluate_dataset(repo / directory, policy_dirs=list(policy_dirs), engine=engine,
                              stage=stage, approvals=approvals,
                              options=Options(stac_schemas=stac_schemas),
                              publish=_publish_request(repo / directory, publish_to))
    except Error as e:
        msg = e.diagnostics()
        return (DatasetOutcome(directory, error=msg),
                [error_command(f"{directory}: {msg}", "kfm-promote input error")])
    report = build_report(ev)

    prefix = "" if directory in ("", ".") else directory.rstrip("/") + "/"
    notes = render_github(report, prefix=prefix, locate=ev.line_of).splitlines()
    return DatasetOutcome(directory, report=report), notes


def _publish_request(spec_dir: Path, publish_to: str | None) -> Any:
    """The publish planner `promote --publish-to` uses (settings from the environment)."""
    if publish_to is None:
        return None
    from promote_action.spec import load_spec
    from promote_action.store.publish_step import PublishStep
    from promote_action.store.settings import StoreSettings

    identity = load_spec(spec_dir).identity
    return PublishStep(publish_to, identity.dataset_slug, identity.dataset_version_id,
                       StoreSettings.from_env(os.environ)).request


def exit_code(outcomes: Sequence[DatasetOutcome]) -> int:
    return max((EXIT[o.outcome] for o in outcomes), default=0)


def publish(env: GitHubEnv, opts: ActionOptions, outcomes: list[DatasetOutcome],
            ctx: RenderContext, annotations: list[str], *, comment_on: int | None,
            marker: str = COMMENT_MARKER, create_comment: bool = True) -> None:
    for line in annotations:
        print(line)
    _write_report(env, opts, outcomes, ctx)
    comment_note = None
    body = render(outcomes, ctx)
    if comment_on is not None and opts.comment:
        comment_note = _post_comment(env, comment_on, body, marker, create_comment)
    if comment_note:
        ctx.notes.append(comment_note)
        body = render(outcomes, ctx)
    append_summary(env.summary_file, body)
    sys.stdout.flush()


def _post_comment(env: GitHubEnv, number: int, body: str, marker: str,
                  create: bool) -> str | None:
    if not env.token:
        print("::notice title=kfm-promote::no github-token: result is in the job summary only")
        return "No token was given, so no PR comment was posted."
    try:
        client = GitHubClient(env.api_url, env.token, env.repository)
        url = client.upsert_comment(number, body, marker=marker, create=create)
        if url:
            print(f"kfm-promote: PR comment {url}")
        return None
    except GitHubApiError as e:
        if e.status in (401, 403, 404):
            why = ("the token cannot write to this pull request (a fork PR has a read-only "
                   "token); the result is in this job summary only")
        else:
            why = e.diagnostics()
        print(f"::warning title=kfm-promote comment::{why}")
        return f"The PR comment could not be posted: {why}. The decision is unaffected."


def _write_report(env: GitHubEnv, opts: ActionOptions, outcomes: list[DatasetOutcome],
                  ctx: RenderContext) -> None:
    import tempfile

    from promote_action.cli.common import write_atomic

    report_dir = opts.report_dir or Path(tempfile.mkdtemp(prefix="kfm-promote-"))
    path = report_dir / f"kfm-promote-{ctx.mode}.json"
    doc: dict[str, Any] = {
        "mode": ctx.mode, "decision": overall(outcomes) if outcomes else "pass",
        "datasets": [{"dir": o.directory, "decision": o.outcome, "error": o.error,
                      "report": o.report, "promotion": o.promotion} for o in outcomes],
        "policy_changes": list(ctx.policy_changes), "trust_changes": list(ctx.trust_changes),
    }
    write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    reports = [o.report for o in outcomes if o.report]
    promos = [o.promotion for o in outcomes if o.promotion]

    def col(values: list[Any]) -> str:
        return "\n".join(str(v) for v in values if v)

    set_outputs(env.output_file, {
        "decision": doc["decision"],
        "spec-hash": col([r["spec_hash"] for r in reports]),
        "dataset-version-id": col([r["dataset_version_id"] for r in reports]),
        "manifest-digest": col([p.get("manifest_digest") for p in promos]),
        "ledger-commit": col([p.get("ledger_commit") for p in promos]),
        "report-path": str(path),
    })


def configure_git_auth(env: GitHubEnv) -> None:
    """Let git (fetch/push of the ledger) authenticate as the job's token, for this process
    and its children only, through GIT_CONFIG_* variables: nothing is written to
    .git/config, so the workflow can keep `persist-credentials: false`."""
    import base64
    import os

    if not env.token or not env.server_url.startswith("https://"):
        return
    n = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    cred = base64.b64encode(f"x-access-token:{env.token}".encode()).decode()
    os.environ[f"GIT_CONFIG_KEY_{n}"] = f"http.{env.server_url}/.extraheader"
    os.environ[f"GIT_CONFIG_VALUE_{n}"] = f"AUTHORIZATION: basic {cred}"
    os.environ["GIT_CONFIG_COUNT"] = str(n + 1)
