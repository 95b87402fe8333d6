"""Git-side steps of the act tests: open a PR as GitHub stores it, merge it, sign keys.

GitHub keeps a PR's head at `refs/pull/N/head` and the merge it tests at
`refs/pull/N/merge` (that merge is GITHUB_SHA of a `pull_request` run); the helpers below
write the same refs to the bare origin.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from act_runner import ActWorld
from gh_harness import add_dataset, git


def open_pr(world: ActWorld, number: int, branch: str,
            mutate: Callable[[Path], None] | None = None, *, fork: bool = False
            ) -> tuple[str, str, str]:
    """Commit a dataset on `branch` and publish the PR refs; returns (base, head, merge)."""
    repo = world.repo
    base = repo.head()
    git(repo.work, "checkout", "-q", "-b", branch)
    ds = add_dataset(repo)
    if mutate:
        mutate(ds)
    head = repo.commit_all("add dataset")
    return base, head, publish_pr(world, number, branch, base, fork=fork)


def publish_pr(world: ActWorld, number: int, branch: str, base: str, *,
               fork: bool = False) -> str:
    """Push the PR's head and its test merge as GitHub does; returns the merge commit."""
    repo = world.repo
    head = repo.head()
    git(repo.work, "checkout", "-q", "--detach", base)
    git(repo.work, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", head)
    merge = repo.head()
    git(repo.work, "checkout", "-q", branch)
    refs = [f"+{head}:refs/pull/{number}/head", f"+{merge}:refs/pull/{number}/merge"]
    if not fork:  # a fork's branch lives in the fork, not in the base repository
        refs.append(f"+{branch}:refs/heads/{branch}")
    world.push(*refs)
    return merge


def merge_pr(world: ActWorld, number: int, branch: str) -> tuple[str, str]:
    """Merge `branch` into the default branch (a merge commit) and push; (before, after)."""
    repo = world.repo
    git(repo.work, "checkout", "-q", world.branch)
    before = repo.head()
    git(repo.work, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", branch)
    world.push(world.branch)
    return before, repo.head()


def bot_key(tmp: Path) -> tuple[Path, str]:
    """A fresh ed25519 ledger key and its allowed_signers line."""
    key = tmp / "bot_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kfm-bot",
                    "-f", str(key)], check=True, timeout=60)
    kind, body = (tmp / "bot_key.pub").read_text().split()[:2]
    return key, f'kfm-bot@example.org namespaces="git" {kind} {body}\n'


def ledger_init(world: ActWorld, key: Path, ledger: str = "kfm-ledger") -> None:
    proc = subprocess.run([sys.executable, "-m", "promote_action", "ledger", "init",
                           "--repo", str(world.repo.work), "--ledger-branch", ledger,
                           "--remote", "origin", "--signing-key", str(key),
                           "--trust-branch", world.branch,
                           "--at", "2026-02-01T00:00:00Z"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr


def verify_signed(world: ActWorld, command: str, name: str) -> None:
    """Plain git, nothing of ours: `git verify-commit` / `git verify-tag` of `name` on the
    bare origin against the trust root of its default branch."""
    signers = world.tmp / "allowed_signers"
    signers.write_text(git(world.repo.origin, "show", f"{world.branch}:ledger/allowed_signers")
                       + "\n")
    proc = subprocess.run(["git", "-c", "gpg.format=ssh", "-c",
                           f"gpg.ssh.allowedSignersFile={signers}", command, name],
                          cwd=world.repo.origin, capture_output=True, text=True, check=False,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'Good "git" signature for kfm-bot@example.org' in proc.stderr
