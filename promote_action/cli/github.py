"""`kfm-promote github check|promote|verify`: what the composite action runs.

Every flag also reads a `KFM_*` environment variable, because the action passes its
inputs only through `env:` (never `${{ }}` inside a script). `GITHUB_*` is read when the
command runs, not at import.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

_ENV = {
    "datasets": "KFM_DATASETS", "policy": "KFM_POLICY", "engine": "KFM_ENGINE",
    "ledger_branch": "KFM_LEDGER_BRANCH", "allowed_signers": "KFM_ALLOWED_SIGNERS",
    "comment": "KFM_COMMENT", "repo": "KFM_REPO", "remote": "KFM_REMOTE",
    "report_dir": "KFM_REPORT_DIR", "signing_key_file": "KFM_SIGNING_KEY_FILE",
    "checkpoint": "KFM_CHECKPOINT", "state_dir": "KFM_STATE_DIR",
    "publish_to": "KFM_PUBLISH_TO",
    "schemas": "KFM_SCHEMAS",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "github", help="run as the GitHub Action (check a PR, promote a merge, verify)",
        description="The GitHub Action's entry point. check: judge a pull request's changed "
                    "datasets with the base branch's policy, comment and summarise. promote: "
                    "on push to the default branch, promote each changed dataset with the "
                    "merged PR's steward approvals and push the ledger. verify: verify the "
                    "ledger and list merges with no ledger entry. Flags default to KFM_* "
                    "environment variables (the action's inputs).")
    p.add_argument("mode", choices=["check", "promote", "verify"])
    p.add_argument("--repo", type=Path, help="the checkout (default: $GITHUB_WORKSPACE or .)")
    p.add_argument("--datasets", help="glob of dataset dirs (default: the changed ones)")
    p.add_argument("--policy", help="policy dirs in the repo, comma/newline separated, read "
                   "from the base commit (default: policy)")
    p.add_argument("--engine", choices=["auto", "opa", "embedded"])
    p.add_argument("--ledger-branch")
    p.add_argument("--remote", help="git remote of the ledger (default: origin)")
    p.add_argument("--allowed-signers", help="trust root path in the repo "
                   "(default: ledger/allowed_signers)")
    p.add_argument("--signing-key-file", type=Path, help="OpenSSH ed25519 key file; the "
                   "action passes the secret in KFM_SIGNING_KEY instead")
    p.add_argument("--schemas", help="reviewed STAC extension schema dir in the repo, read "
                   "from the base commit (default: schemas/stac)")
    p.add_argument("--comment", choices=["true", "false"], help="post the PR comment")
    p.add_argument("--publish-to", metavar="URI", help="promote: copy each promoted "
                   "version's artifacts to URI/<slug>/<version>/ (create-only, re-verified) "
                   "with the runner's cloud credentials from the standard environment")
    p.add_argument("--report-dir", type=Path, help="where the JSON report goes "
                   "(default: $RUNNER_TEMP)")
    p.add_argument("--checkpoint", help="verify: continue from this checkpoint "
                   "(verify --since; a full verify when its verified state is not kept)")
    p.add_argument("--state-dir", help="verify: where the verified state is kept")
    p.set_defaults(func=run)


def _value(args: argparse.Namespace, name: str, default: str) -> str:
    v = getattr(args, name, None)
    if v is None:
        v = os.environ.get(_ENV[name], "").strip() or default
    return str(v)


def options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from promote_action.errors import UsageError
    from promote_action.github.runner import ActionOptions

    engine = _value(args, "engine", "auto")
    if engine not in ("auto", "opa", "embedded"):
        raise UsageError(f"engine must be auto, opa or embedded, not {engine!r}",
                         field="KFM_ENGINE")
    comment = _value(args, "comment", "true").lower()
    if comment not in ("true", "false"):
        raise UsageError("comment must be true or false", field="KFM_COMMENT")
    policy = [p.strip() for p in _value(args, "policy", "policy").replace(",", "\n").split()]
    runner_temp = os.environ.get("RUNNER_TEMP")
    report_dir = _value(args, "report_dir", "") or (
        str(Path(runner_temp) / "kfm-promote") if runner_temp else "")
    key_file = _value(args, "signing_key_file", "")
    return ActionOptions(
        repo=Path(_value(args, "repo", os.environ.get("GITHUB_WORKSPACE") or ".")).resolve(),
        policy_dirs=[p for p in policy if p], datasets=_value(args, "datasets", "") or None,
        engine=engine, ledger_branch=_value(args, "ledger_branch", "kfm-ledger"),
        remote=_value(args, "remote", "origin"),
        allowed_signers=_value(args, "allowed_signers", "ledger/allowed_signers"),
        comment=comment == "true", report_dir=Path(report_dir) if report_dir else None,
        signing_key=os.environ.get("KFM_SIGNING_KEY") or None,
        signing_key_file=Path(key_file) if key_file else None,
        checkpoint=_value(args, "checkpoint", "") or None,
        state_dir=_value(args, "state_dir", "") or None,
        publish_to=_value(args, "publish_to", "") or None,
        schemas=_value(args, "schemas", "schemas/stac"),
    )


def run(args: argparse.Namespace) -> int:
    from promote_action.github.context import GitHubEnv
    from promote_action.github.runner import configure_git_auth

    opts = options(args)
    env = GitHubEnv.from_environ()
    if args.mode != "check":  # a PR check never needs to fetch or push with the token
        configure_git_auth(env)
    if args.mode == "check":
        from promote_action.github.check import run_check

        return run_check(env, opts)
    if args.mode == "promote":
        from promote_action.github.promote import run_promote

        return run_promote(env, opts)
    from promote_action.github.verify import run_verify

    return run_verify(env, opts)
