"""End to end: `action.yml` in promote mode on the real push payload: merge = promote.

Real git (bare origin on disk), real ssh signatures checked by plain `git verify-commit`,
real OPA; only the GitHub API is the fake server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gh_fake import FakeGitHub
from gh_harness import (
    FULL_NAME,
    SLUG,
    STEWARD,
    GitRepo,
    add_dataset,
    git,
    make_repo,
    push_payload,
    run_action,
)

pytestmark = pytest.mark.usefixtures("require_opa")
LEDGER = "kfm-ledger"


def _keyed_repo(tmp: Path) -> tuple[GitRepo, Path]:
    key = tmp / "bot_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kfm-bot",
                    "-f", str(key)], check=True)
    pub = (tmp / "bot_key.pub").read_text().split()
    signers = f'kfm-bot@example.org namespaces="git" {pub[0]} {pub[1]}\n'
    repo = make_repo(tmp, allowed_signers=signers)
    init = subprocess.run([sys.executable, "-m", "promote_action", "ledger", "init",
                           "--repo", str(repo.work),
                           "--ledger-branch", LEDGER, "--remote", "origin",
                           "--signing-key", str(key), "--at", "2026-02-01T00:00:00Z"],
                          capture_output=True, text=True, check=False)
    assert init.returncode == 0, init.stderr
    return repo, key


def _merge_dataset_pr(repo: GitRepo) -> tuple[str, str]:
    before = repo.head()
    git(repo.work, "checkout", "-q", "-b", "add-gauges")
    add_dataset(repo)
    repo.commit_all("add dataset")
    git(repo.work, "checkout", "-q", "main")
    git(repo.work, "merge", "-q", "--no-ff", "-m", "Merge pull request #7", "add-gauges")
    git(repo.work, "push", "-q", "origin", "main")
    return before, repo.head()


def _promote(fake: FakeGitHub, repo: GitRepo, tmp: Path, key: Path, before: str, after: str):
    return run_action({"mode": "promote", "signing-key": key.read_text()},
                      event_name="push", payload=push_payload(before=before, after=after),
                      workspace=repo.work, api_url=fake.url, tmp=tmp, sha=after)


def _verify(fake: FakeGitHub, repo: GitRepo, tmp: Path, **inputs: str):
    return run_action({"mode": "verify", "comment": "false", **inputs}, event_name="schedule",
                      payload={"schedule": "17 5 * * *"}, workspace=repo.work,
                      api_url=fake.url, tmp=tmp, sha=repo.head())


def _origin_tip(repo: GitRepo) -> str:
    return git(repo.origin, "rev-parse", f"refs/heads/{LEDGER}")


def _verify_commit(repo: GitRepo, commit: str) -> None:
    signers = repo.work / "ledger" / "allowed_signers"
    proc = subprocess.run(["git", "-c", "gpg.format=ssh", "-c",
                           f"gpg.ssh.allowedSignersFile={signers}", "verify-commit", commit],
                          cwd=repo.origin, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Good" in proc.stderr


def _report(run) -> dict:
    return json.loads(Path(run.outputs["report-path"]).read_text())


def test_merge_with_steward_approval_promotes_once(tmp_path: Path) -> None:
    repo, key = _keyed_repo(tmp_path)
    root = _origin_tip(repo)
    before, merge = _merge_dataset_pr(repo)
    with FakeGitHub(FULL_NAME) as fake:
        fake.add_pull(7, title="Add gauges", head_ref="add-gauges", merged=True,
                      merge_commit_sha=merge)
        fake.add_review(7, "someone-else", "APPROVED", "2026-02-09T10:00:00Z")
        fake.add_review(7, STEWARD, "CHANGES_REQUESTED", "2026-02-09T11:00:00Z")
        fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
        first = _promote(fake, repo, tmp_path, key, before, merge)
        assert first.code == 0, first.out + first.err
        tip = _origin_tip(repo)
        assert tip != root and first.outputs["ledger-commit"] == tip
        _verify_commit(repo, tip)
        assert first.outputs["decision"] == "pass"
        assert first.outputs["manifest-digest"].startswith("sha256:")
        [comment] = fake.comments[7]
        assert comment["body"].startswith("<!-- kfm-promote:promote -->")
        assert tip in comment["body"]
        assert "BEGIN OPENSSH" not in first.out + first.err + first.summary
        entry = _report(first)["datasets"][0]["promotion"]
        assert entry["result"] == "recorded"

        again = _promote(fake, repo, tmp_path, key, before, merge)
        assert again.code == 0, again.out + again.err
        assert _origin_tip(repo) == tip, "a re-run is a no-op"
        assert _report(again)["datasets"][0]["promotion"]["result"] == "already_recorded"
        assert len(fake.comments[7]) == 1

        # verify mode: the ledger verifies and every dataset merge is recorded ...
        verified = _verify(fake, repo, tmp_path, **{"state-dir": "../verify-state"})
        assert verified.code == 0, verified.out + verified.err
        assert verified.outputs["decision"] == "pass"
        checkpoint = verified.outputs["checkpoint"]
        assert checkpoint.count(":") == 3 and checkpoint.endswith(tip), checkpoint
        # the next scheduled run continues from the checkpoint output (incremental with
        # the kept state; a full verify proving the checkpoint without it)
        again = _verify(fake, repo, tmp_path, checkpoint=checkpoint,
                        **{"state-dir": "../verify-state"})
        assert again.code == 0 and "incremental: 0 new entries" in again.out, again.out
        fresh = _verify(fake, repo, tmp_path, checkpoint=checkpoint)
        assert fresh.code == 0 and "full verify: no verified state" in fresh.out, fresh.out
        assert fresh.outputs["checkpoint"] == checkpoint
        # ... until a dataset change lands without a promotion (e.g. a cancelled run)
        (repo.work / "datasets" / SLUG / "params.yaml").write_text("changed: true\n")
        unrecorded = repo.commit_all("change without promotion")
        git(repo.work, "push", "-q", "origin", "main")
        missing = _verify(fake, repo, tmp_path)
        assert missing.code == 1
        assert unrecorded in missing.summary and merge not in missing.summary


def test_merge_without_steward_approval_records_denied(tmp_path: Path) -> None:
    repo, key = _keyed_repo(tmp_path)
    root = _origin_tip(repo)
    before, merge = _merge_dataset_pr(repo)
    with FakeGitHub(FULL_NAME) as fake:
        fake.add_pull(7, title="Add gauges", head_ref="add-gauges", merged=True,
                      merge_commit_sha=merge, user="contributor")
        fake.add_review(7, "contributor", "APPROVED", "2026-02-09T12:00:00Z")  # not a steward
        fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
        fake.add_review(7, STEWARD, "DISMISSED", "2026-02-09T13:00:00Z")  # latest wins
        res = _promote(fake, repo, tmp_path, key, before, merge)
        body = fake.comments[7][0]["body"]
    assert res.code == 1, res.out + res.err
    promo = _report(res)["datasets"][0]["promotion"]
    assert promo["result"] == "denied" and promo["entry_type"] == "denied"
    tip = _origin_tip(repo)
    assert tip != root
    _verify_commit(repo, tip)
    assert "F.approval_missing" in body
    assert git(repo.origin, "ls-tree", "--name-only", tip, "published/") == ""


def test_direct_push_without_pr_is_denied_and_recorded(tmp_path: Path) -> None:
    repo, key = _keyed_repo(tmp_path)
    before = repo.head()
    add_dataset(repo)
    after = repo.commit_all("direct push of a dataset")
    git(repo.work, "push", "-q", "origin", "main")
    with FakeGitHub(FULL_NAME) as fake:
        res = _promote(fake, repo, tmp_path, key, before, after)
        assert fake.calls("GET", rf"/commits/{after}/pulls")
        assert not fake.calls("POST", r"/comments$")
    assert res.code == 1
    assert _report(res)["datasets"][0]["promotion"]["entry_type"] == "denied"
    assert "direct push" in res.summary
    assert SLUG in res.summary


def test_key_revoked_on_main_is_refused_and_nothing_is_pushed(tmp_path: Path) -> None:
    """The action's promote mode enforces the trust root of the pushed default branch:
    once a reviewed PR lists the bot key in ledger/revoked_signers, the merge is not
    recorded at all (exit 2), not even as a denied entry."""
    repo, key = _keyed_repo(tmp_path)
    (repo.work / "ledger" / "revoked_signers").write_text(
        " ".join((tmp_path / "bot_key.pub").read_text().split()[:2]) + "\n")
    repo.commit_all("ledger: revoke the leaked bot key")
    git(repo.work, "push", "-q", "origin", "main")
    refs = git(repo.origin, "for-each-ref")
    before, merge = _merge_dataset_pr(repo)
    refs = refs.replace(before, merge)  # only main moved (the merge itself)
    with FakeGitHub(FULL_NAME) as fake:
        fake.add_pull(7, title="Add gauges", head_ref="add-gauges", merged=True,
                      merge_commit_sha=merge)
        fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
        res = _promote(fake, repo, tmp_path, key, before, merge)
    assert res.code == 2, res.out + res.err
    assert "is revoked" in res.out + res.err and "ledger/revoked_signers" in res.out + res.err
    assert _report(res)["datasets"][0]["promotion"]["result"] == "error"
    assert git(repo.origin, "for-each-ref") == refs, "something was pushed"
