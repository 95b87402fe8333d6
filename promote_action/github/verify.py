"""`kfm-promote github verify`: verify the ledger and find merges it never recorded.

A cancelled or failed promote run must not go unnoticed: every first-parent commit on
the default branch that changed a dataset dir must have a ledger entry naming it as
its merge commit (promotion or denied). Both checks read git only (offline).
"""

from __future__ import annotations

import subprocess
import sys

from promote_action.github.changes import discover, git
from promote_action.github.context import GitHubEnv
from promote_action.github.outputs import append_summary, set_outputs, warning_command
from promote_action.github.runner import ActionOptions

_MAX_MERGES = 500


def recorded_merges(opts: ActionOptions, ref: str) -> set[str]:
    """The merge commits the ledger's entries name. Read in this process (the entries of
    either layout, `LedgerView.entry_files`): a `git show` per entry cost 2 ms, several
    minutes a night on a ledger of 100,000 promotions."""
    import pygit2

    from promote_action.errors import LedgerError
    from promote_action.ledger.store import LedgerView, open_repo

    tip = git(opts.repo, "rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    view = LedgerView(open_repo(opts.repo), pygit2.Oid(hex=tip))
    seen = set()
    for path in view.entry_files():
        try:
            entry = view.read_json(path)
        except LedgerError:  # not JSON: `verify`, run beside this, reports it
            continue
        source = entry.get("source") if isinstance(entry, dict) else None
        if isinstance(source, dict) and isinstance(source.get("merge_commit"), str):
            seen.add(source["merge_commit"])
    return seen


def unrecorded_merges(opts: ActionOptions, branch_ref: str, ledger_ref: str
                      ) -> list[tuple[str, list[str]]]:
    revs = git(opts.repo, "rev-list", "--first-parent", f"--max-count={_MAX_MERGES}",
               branch_ref).decode().split()
    seen = recorded_merges(opts, ledger_ref)
    missing = []
    for sha in revs:
        parents = git(opts.repo, "rev-list", "--parents", "-n", "1", sha).decode().split()[1:]
        if not parents:
            continue
        ch = discover(opts.repo, parents[0], sha, policy_dir=opts.policy_dirs[0]
                      if opts.policy_dirs else "policy")
        if ch.datasets and sha not in seen:
            missing.append((sha, list(ch.datasets)))
    return missing


def since_flags(opts: ActionOptions) -> list[str]:
    """With a checkpoint from an earlier run: `--since` it (incremental when the verified
    state is kept in the state dir, else a full verify that also proves the checkpoint)."""
    flags = ["--since", opts.checkpoint] if opts.checkpoint else []
    if opts.state_dir:
        flags += ["--state-dir", str(opts.repo / opts.state_dir)]
    return flags


def run_verify(env: GitHubEnv, opts: ActionOptions) -> int:
    git(opts.repo, "fetch", "--no-tags", "--quiet", opts.remote,
        f"+refs/heads/{opts.ledger_branch}:refs/remotes/{opts.remote}/{opts.ledger_branch}")
    proc = subprocess.run([sys.executable, "-m", "promote_action", "verify", "--repo",
                           str(opts.repo), "--ledger-branch", opts.ledger_branch,
                           "--remote", opts.remote, *opts.trust_argv(), *since_flags(opts)],
                          capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    checkpoint = next((line.split(": ", 1)[1] for line in proc.stdout.splitlines()
                       if line.startswith("checkpoint: ")), "")
    missing = unrecorded_merges(opts, "HEAD", f"refs/remotes/{opts.remote}/{opts.ledger_branch}")
    lines = ["## kfm-promote verify", "",
             ("✅ ledger verified" if proc.returncode == 0 else "❌ ledger verification "
              f"failed (exit {proc.returncode})"), "", "```", proc.stdout.strip()
             or proc.stderr.strip(), "```"]
    if missing:
        lines += ["", f"❌ {len(missing)} merge(s) changed datasets but have no ledger entry "
                  "(a cancelled or failed promote run). Re-run the promotion workflow for:"]
        for sha, dirs in missing:
            lines.append(f"- `{sha}`: " + ", ".join(f"`{d}`" for d in dirs))
            print(warning_command(f"merge {sha} changed {', '.join(dirs)} but has no ledger "
                                  "entry", title="kfm-promote unrecorded merge"))
    append_summary(env.summary_file, "\n".join(lines) + "\n")
    decision = "pass" if proc.returncode == 0 and not missing else "deny"
    set_outputs(env.output_file, {"decision": decision,
                                  "checkpoint": checkpoint if proc.returncode == 0 else ""})
    return proc.returncode or (1 if missing else 0)
