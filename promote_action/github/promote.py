"""`kfm-promote github promote`: on push to the default branch, promote what was merged.

Runs after the merge (so fork PRs are promoted too) in the one job that holds
`contents: write` and the signing key. Approvals come from the merged PR's reviews via
the API; the policy from the pushed commit (the reviewed base of the next PR). Each
changed dataset is promoted by the ordinary `kfm-promote promote` (same gates, same
policy, same ledger code as the CLI); a push without a merged PR has no approvals, so
the policy denies it and a `denied` entry records the attempt. Re-runs are no-ops
because `promote` is idempotent on the ledger.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from promote_action.errors import UsageError
from promote_action.github.api import PROMOTE_MARKER, GitHubClient, PullInfo
from promote_action.github.approvals import approvals_from_reviews
from promote_action.github.changes import discover
from promote_action.github.check import export_policies, export_schemas
from promote_action.github.context import GitHubEnv
from promote_action.github.outputs import error_command
from promote_action.github.runner import ActionOptions, evaluate_dir, publish
from promote_action.policy.capsule import Approval
from promote_action.report.markdown import RenderContext

_STATUS_EXIT = {"recorded": 0, "already_recorded": 0, "denied": 1, "conflict": 1}


def run_promote(env: GitHubEnv, opts: ActionOptions) -> int:
    push = env.push()
    if push.ref != f"refs/heads/{env.default_branch}":
        raise UsageError(f"promote runs on push to the default branch "
                         f"({env.default_branch}), not {push.ref}", field="GITHUB_REF")
    changes = discover(opts.repo, push.before, push.after,
                       policy_dir=opts.policy_dirs[0] if opts.policy_dirs else "policy",
                       pattern=opts.datasets)
    client = GitHubClient(env.api_url, env.token, env.repository)
    pr = _merged_pr(client, push.after, env.default_branch)
    ctx = RenderContext(mode="promote", pr_number=pr.number if pr else None,
                        pr_title=pr.title if pr else "", head_sha=push.after,
                        policy_source=f"the pushed commit `{push.after[:12]}`",
                        ledger_branch=opts.ledger_branch, run_url=env.run_url)
    if pr is None and changes.datasets:
        ctx.notes.append("No merged pull request belongs to this push (direct push): there "
                         "are no steward approvals, so promotion is denied and recorded.")
    outcomes, annotations, codes = [], [], []
    with tempfile.TemporaryDirectory(prefix="kfm-policy-") as tmp:
        policy = export_policies(opts.repo, push.after, opts.policy_dirs, Path(tmp))
        approvals = _approvals(client, pr, policy) if changes.datasets else []
        schemas = export_schemas(opts.repo, push.after, opts.schemas, Path(tmp) / "schemas")
        for d in changes.datasets:
            outcome, notes = evaluate_dir(opts.repo, d, policy, opts.engine, stage="promote",
                                          approvals=approvals, stac_schemas=schemas,
                                          publish_to=opts.publish_to)
            annotations += notes
            if outcome.report is not None:
                code, outcome.promotion = _promote_one(env, opts, d, outcome.report, pr,
                                                       push.after, approvals, policy,
                                                       schemas.directory)
            else:
                code = 2
            codes.append(code)
            outcomes.append(outcome)
    print(f"kfm-promote: {len(outcomes)} dataset(s) from {push.after[:12]}"
          + (f" (PR #{pr.number})" if pr else " (no merged PR)"))
    publish(env, opts, outcomes, ctx, annotations,
            comment_on=pr.number if pr and outcomes else None, marker=PROMOTE_MARKER)
    return max(codes, default=0)


def _merged_pr(client: GitHubClient, sha: str, default_branch: str) -> PullInfo | None:
    """The PR merged as `sha` (merge, squash or rebase commit), if any."""
    for p in client.pulls_for_commit(sha):
        if p.merged and p.base_ref == default_branch and p.merge_commit_sha == sha:
            return p
    return None


def _approvals(client: GitHubClient, pr: PullInfo | None, policy: list[Path]
               ) -> list[Approval]:
    if pr is None:
        return []
    from promote_action.policy.bundle import load_bundle

    data = load_bundle(policy).data
    return approvals_from_reviews(client.reviews(pr.number), data, exclude=[pr.author])


def _promote_one(env: GitHubEnv, opts: ActionOptions, directory: str, report: dict[str, Any],
                 pr: PullInfo | None, sha: str, approvals: list[Approval],
                 policy: list[Path], schemas: Path | None
                 ) -> tuple[int, dict[str, Any]]:
    argv = [sys.executable, "-m", "promote_action", "promote",
            "--dataset-slug", report["dataset_slug"],
            "--dataset-version-id", report["dataset_version_id"],
            "--spec", str(opts.repo / directory), "--repo", str(opts.repo),
            "--ledger-branch", opts.ledger_branch, "--remote", opts.remote,
            "--released-from-commit", sha, "--merge-commit", sha,
            "--source-repo", env.repository, "--engine", opts.engine, "--format", "json",
            *opts.trust_argv()]
    if pr is not None:
        argv += ["--pr", str(pr.number)]
    for a in approvals:
        argv += ["--approver", f"principal:{a.principal}", "--approver-role", a.role,
                 "--approved-at", a.approved_at]
    for p in policy:
        argv += ["--policy", str(p)]
    if schemas is not None:
        argv += ["--schemas", str(schemas)]
    if opts.signing_key_file:
        argv += ["--signing-key", str(opts.signing_key_file)]
    if opts.publish_to:
        argv += ["--publish-to", opts.publish_to]
    # The runner's environment goes to the child unchanged: the standard cloud variables
    # (AWS_*, GOOGLE_*, AZURE_*, e.g. from an OIDC credentials step) are how `promote`
    # reaches object storage; no credential ever passes through an action input.
    child_env = dict(os.environ)
    if opts.signing_key:
        child_env["KFM_SIGNING_KEY"] = opts.signing_key
    proc = subprocess.run(argv, cwd=opts.repo, capture_output=True, text=True, env=child_env,
                          check=False)
    sys.stderr.write(proc.stderr)
    try:
        out = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError:
        out = {}
    status = str(out.get("status") or "error")
    if status == "recorded" and out.get("outcome") not in (None, "pass"):
        status = "denied"  # a recorded `denied` entry, whatever the append step calls it
    if not out:
        last = (proc.stderr.strip().splitlines() or ["promote failed"])[-1]
        print(error_command(f"{directory}: {last}", "kfm-promote promote"))
    entry = out.get("entry") or {}
    info = {"result": status, "outcome": out.get("outcome"), "entry_type": entry.get("type"),
            "seq": entry.get("seq"), "ledger_commit": out.get("commit"),
            "manifest_digest": entry.get("manifest_digest"),
            "tag": out.get("tag"), "message": out.get("message")}
    code = proc.returncode if proc.returncode else _STATUS_EXIT.get(status, 0)
    return code, info

