"""`kfm-promote github check`: judge a pull request's changed datasets.

Read-only by design (runs with the PR's token, never the signing key). The policy comes
from the PR's base commit, exported into a temp dir: the PR's own `policy/` changes are
reported for steward review but never used to judge the PR.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from promote_action.github.changes import discover, export_dir
from promote_action.github.context import GitHubEnv
from promote_action.github.outputs import warning_command
from promote_action.github.runner import ActionOptions, evaluate_dir, exit_code, publish
from promote_action.report.markdown import RenderContext
from promote_action.stac_schemas.store import SchemaStore


def export_policies(repo: Path, ref: str, dirs: list[str], dest: Path) -> list[Path]:
    """Each configured policy dir as it is at `ref` (missing dirs are simply absent)."""
    out = []
    for i, d in enumerate(dirs):
        exported = export_dir(repo, ref, d.strip("/"), dest / str(i))
        if exported is not None:
            out.append(exported)
    return out


def export_schemas(repo: Path, ref: str, subdir: str, dest: Path) -> SchemaStore:
    """The schema directory as it is at `ref`: like the policy, a PR cannot bring the
    schemas it is judged by (a missing directory: no extension reviewed yet)."""
    exported = export_dir(repo, ref, subdir.strip("/"), dest)
    return SchemaStore(exported, subdir.strip("/"))


def run_check(env: GitHubEnv, opts: ActionOptions) -> int:
    pr = env.pull_request()
    changes = discover(opts.repo, pr.base_sha, pr.head_sha, policy_dir=opts.policy_dirs[0]
                       if opts.policy_dirs else "policy", pattern=opts.datasets)
    policy_changes = [f for f in changes.files
                      if any(f == d or f.startswith(d.rstrip("/") + "/")
                             for d in opts.policy_dirs)]
    ctx = RenderContext(
        mode="check", pr_number=pr.number, pr_title=pr.title, head_ref=pr.head_ref,
        head_sha=pr.head_sha, base_ref=pr.base_ref, base_sha=pr.base_sha,
        policy_source=f"base branch `{_safe_ref(pr.base_ref)}` at `{pr.base_sha[:12]}`",
        ledger_branch=opts.ledger_branch, policy_changes=policy_changes,
        trust_changes=changes.trust_files, removed_datasets=changes.removed_datasets,
        run_url=env.run_url,
    )
    outcomes, annotations = [], []
    with tempfile.TemporaryDirectory(prefix="kfm-base-policy-") as tmp:
        policy = export_policies(opts.repo, pr.base_sha, opts.policy_dirs, Path(tmp))
        schemas = export_schemas(opts.repo, pr.base_sha, opts.schemas, Path(tmp) / "schemas")
        for d in changes.datasets:
            outcome, notes = evaluate_dir(opts.repo, d, policy, opts.engine,
                                          stac_schemas=schemas)
            outcomes.append(outcome)
            annotations += notes
    for f in [*policy_changes, *changes.trust_files]:
        annotations.append(warning_command(
            "this PR changes the policy or trust root; it needs steward review and does not "
            "apply to its own check", file=f))
    print(f"kfm-promote: {len(outcomes)} changed dataset(s) judged by the policy at "
          f"{pr.base_sha[:12]}")
    show = bool(outcomes or policy_changes or changes.trust_files)
    publish(env, opts, outcomes, ctx, annotations, comment_on=pr.number, create_comment=show)
    return exit_code(outcomes)


def _safe_ref(ref: str) -> str:
    return "".join(c for c in ref if c.isalnum() or c in "-_./")
