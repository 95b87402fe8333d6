"""`verify` takes its trust root from the DEFAULT branch's tree (not the worktree, not the
ledger branch): a key added only on a pull-request branch is not trusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pygit2
import pytest
from ledgerlib import make_key, new_ledger, sh, synthetic_promotion, version_id

from promote_action.ledger.writer import append_event

ALLOWED = "ledger/allowed_signers"


def commit_file(repo: Path, path: str, text: str, message: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    sh("git", "add", path, cwd=repo)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message,
       cwd=repo)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    _, allowed, key = make_key(tmp_path / "keys")
    _, mallory_allowed, mallory = make_key(tmp_path / "keys", name="mallory",
                                           principal="mallory@example")
    repo = tmp_path / "repo"
    sh("git", "init", "-q", "-b", "main", str(repo))
    commit_file(repo, ALLOWED, allowed.read_text(), "trust root")
    lt = new_ledger(repo, key)
    append_event(lt, synthetic_promotion(key, "alpha_data", version_id(0)), key)
    return {"repo": repo, "key": key, "mallory": mallory, "allowed": allowed,
            "mallory_allowed": mallory_allowed, "tmp": tmp_path}


def rewrite_ledger_with(repo: Path, key: Any) -> None:
    """A whole new ledger history signed by `key` (tags of the old one removed)."""
    r = pygit2.Repository(str(repo))
    for name in [n for n in r.references if n.startswith("refs/tags/kfm/")]:
        r.references.delete(name)
    r.references.delete("refs/heads/kfm-ledger")
    lt = new_ledger(repo, key)
    append_event(lt, synthetic_promotion(key, "alpha_data", version_id(0)), key)


def test_trust_root_is_read_from_main(env, run_cli):
    r = run_cli("verify", "--repo", env["repo"])
    assert r.code == 0, r.out + r.err
    assert f"trust root: refs/heads/main:{ALLOWED}" in r.out


def test_key_added_only_on_a_pr_branch_is_not_trusted(env, run_cli):
    repo = env["repo"]
    sh("git", "checkout", "-q", "-b", "pr-add-key", cwd=repo)
    both = env["allowed"].read_text() + env["mallory_allowed"].read_text()
    commit_file(repo, ALLOWED, both, "add my key")  # worktree now trusts mallory too
    rewrite_ledger_with(repo, env["mallory"])
    r = run_cli("verify", "--repo", repo)
    assert r.code == 1, r.out + r.err
    assert "not trusted" in r.out and "entry #0" in r.out
    # the same history verifies only if someone deliberately trusts the PR branch
    assert run_cli("verify", "--repo", repo, "--trust-branch", "pr-add-key").code == 0


def test_revocation_on_main_applies(env, run_cli):
    commit_file(env["repo"], "ledger/revoked_signers", env["key"].public_openssh + "\n",
                "revoke")
    r = run_cli("verify", "--repo", env["repo"])
    assert r.code == 1 and "revoked" in r.out, r.out + r.err


def test_auditor_files_override_the_branch(env, run_cli):
    r = run_cli("verify", "--repo", env["repo"], "--allowed-signers", env["mallory_allowed"])
    assert r.code == 1 and "not trusted" in r.out
    r = run_cli("verify", "--repo", env["repo"], "--allowed-signers", env["allowed"])
    assert r.code == 0 and f"trust root: {env['allowed']}" in r.out


def test_clone_without_local_main_uses_the_remote_head(env, run_cli):
    audit = env["tmp"] / "audit"
    sh("git", "init", "-q", "--bare", str(audit))
    sh("git", "remote", "add", "origin", str(env["repo"]), cwd=audit)
    sh("git", "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", cwd=audit)
    sh("git", "remote", "set-head", "origin", "main", cwd=audit)
    assert "refs/heads/main" not in pygit2.Repository(str(audit)).references
    r = run_cli("verify", "--repo", audit, "--remote", "origin")
    assert r.code == 0, r.out + r.err
    assert f"trust root: refs/remotes/origin/main:{ALLOWED}" in r.out


def test_no_default_branch_is_a_clear_exit_2(env, run_cli):
    bare = env["tmp"] / "bare"
    sh("git", "init", "-q", "--bare", str(bare))
    sh("git", "-C", str(env["repo"]), "push", "-q", str(bare), "kfm-ledger")
    r = run_cli("verify", "--repo", bare)
    assert r.code == 2, r.out + r.err
    assert "--trust-branch" in r.err and "Traceback" not in r.err
    r = run_cli("verify", "--repo", bare, "--trust-branch", "kfm-ledger")
    assert r.code == 2 and ALLOWED in r.err  # a branch without a trust root
