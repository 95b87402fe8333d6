"""The unmodified promotion workflow under act on `push` (promote) and `schedule` (verify).

Real git (a bare origin on the file:// "GitHub"), real ssh signatures checked by plain
`git verify-commit` / `git verify-tag`, real OPA; the GitHub API is the fake on 127.0.0.1.
The push payload is the real octokit example (`webhooks/push.json`), adapted only where it
must name the test repository: the pushed branch, `before`/`after`, `head_commit.id`, the
repository name and its default branch (see `gh_harness.push_payload`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from act_flow import bot_key, ledger_init, merge_pr, verify_signed
from act_runner import ActWorld, make_world
from gh_fake import FakeGitHub
from gh_harness import FULL_NAME, SLUG, STEWARD, add_dataset, git, push_payload

pytestmark = pytest.mark.usefixtures("require_opa")
LEDGER = "kfm-ledger"


def _tip(world: ActWorld) -> str:
    return git(world.repo.origin, "rev-parse", f"refs/heads/{LEDGER}")


def _key_lines(key: Path) -> list[str]:
    return [ln for ln in key.read_text().splitlines() if ln and "PRIVATE KEY" not in ln]


def _merged_pr(tmp_path: Path, action_dir: Path, branch: str = "main"
               ) -> tuple[ActWorld, Path, str, str, str]:
    """A world with an initialised ledger and PR 7 (a new dataset) merged into `branch`:
    (world, signing key, ledger root, commit before the merge, merge commit)."""
    key, signers = bot_key(tmp_path)
    world = make_world(tmp_path, action_dir, branch=branch, allowed_signers=signers)
    ledger_init(world, key)
    root = _tip(world)
    git(world.repo.work, "checkout", "-q", "-b", "add-gauges")
    add_dataset(world.repo)
    world.repo.commit_all("add dataset")
    before, merge = merge_pr(world, 7, "add-gauges")
    return world, key, root, before, merge


@pytest.mark.parametrize("branch", ["main", "trunk"])
def test_merge_promotes_signed_ledger_then_verify_is_green(
        tmp_path: Path, action_dir: Path, branch: str) -> None:
    world, key, root, before, merge = _merged_pr(tmp_path, action_dir, branch)
    push = push_payload(before=before, after=merge, branch=branch, default_branch=branch)
    secrets = {"KFM_SIGNING_KEY": key.read_text()}
    with FakeGitHub(FULL_NAME) as fake:
        fake.add_pull(7, title="Add gauges", head_ref="add-gauges", base_ref=branch,
                      merged=True, merge_commit_sha=merge)
        fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
        res = world.run("push", push, api_url=fake.url, sha=merge, secrets=secrets)
        assert res.jobs == {"promote": "success"}, res.tail()
        assert res.step_exit == 0 and res.code == 0
        tip = _tip(world)
        assert tip != root and res.outputs["ledger-commit"] == tip
        assert res.outputs["decision"] == "pass"
        assert res.outputs["manifest-digest"].startswith("sha256:")
        version = res.outputs["dataset-version-id"]
        verify_signed(world, "verify-commit", tip)
        verify_signed(world, "verify-tag", f"kfm/{SLUG}/{version}")
        [comment] = fake.comments[7]
        assert comment["body"].startswith("<!-- kfm-promote:promote -->")
        assert tip in comment["body"] and version in comment["body"]
        for line in _key_lines(key):
            assert line not in res.log, "a line of the signing key reached the log"
        assert "***" not in res.log, "nothing had to be masked: the key was never printed"
        assert res.network_attempts == 0

        again = world.run("push", push, api_url=fake.url, sha=merge, secrets=secrets)
        assert again.jobs == {"promote": "success"}, again.tail()
        assert _tip(world) == tip, "a re-run is a no-op"
        assert len(fake.comments[7]) == 1

        posts = len(fake.calls("POST", r"/comments$"))
        nightly = world.run("schedule", {"schedule": "17 5 * * *"}, api_url=fake.url,
                            sha=merge, ref=f"refs/heads/{branch}")
        assert nightly.jobs == {"verify": "success"}, nightly.tail()
        assert nightly.outputs["decision"] == "pass"
        assert "ledger verified" in nightly.summary
        assert len(fake.calls("POST", r"/comments$")) == posts, "verify comments nowhere"


def test_push_to_another_branch_runs_no_job(tmp_path: Path, action_dir: Path) -> None:
    """The default branch is `trunk`; a push to a branch named `main` promotes nothing."""
    key, signers = bot_key(tmp_path)
    world = make_world(tmp_path, action_dir, branch="trunk", allowed_signers=signers)
    ledger_init(world, key)
    root = _tip(world)
    git(world.repo.work, "checkout", "-q", "-b", "main")
    add_dataset(world.repo)
    after = world.repo.commit_all("a dataset on a side branch called main")
    world.push("main")
    push = push_payload(before=root, after=after, branch="main", default_branch="trunk")
    with FakeGitHub(FULL_NAME) as fake:
        res = world.run("push", push, api_url=fake.url, sha=after,
                        secrets={"KFM_SIGNING_KEY": key.read_text()})
        assert not fake.requests
    assert res.code == 0 and res.jobs == {}, res.tail()
    assert _tip(world) == root



def test_denied_merge_and_direct_push_are_recorded_and_verify_flags_the_rest(
        tmp_path: Path, action_dir: Path) -> None:
    world, key, root, before, merge = _merged_pr(tmp_path, action_dir)
    secrets = {"KFM_SIGNING_KEY": key.read_text()}
    with FakeGitHub(FULL_NAME) as fake:
        fake.add_pull(7, title="Add gauges", head_ref="add-gauges", merged=True,
                      merge_commit_sha=merge, user="contributor")
        fake.add_review(7, "contributor", "APPROVED", "2026-02-09T12:00:00Z")  # no steward
        fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
        fake.add_review(7, STEWARD, "DISMISSED", "2026-02-09T13:00:00Z")  # latest wins
        denied = world.run("push", push_payload(before=before, after=merge), api_url=fake.url,
                           sha=merge, secrets=secrets)
        assert denied.jobs == {"promote": "failure"}, denied.tail()
        assert denied.step_exit == 1 and denied.outputs["decision"] == "deny"
        tip = _tip(world)
        assert tip != root and denied.outputs["ledger-commit"] == tip
        verify_signed(world, "verify-commit", tip)
        assert _entry(world, tip)["type"] == "denied"
        assert git(world.repo.origin, "ls-tree", "--name-only", tip, "published/") == ""
        assert "F.approval_missing" in fake.comments[7][0]["body"]

        # a direct push (no PR): denied and recorded too, nobody to comment to
        ds = world.repo.work / "datasets" / SLUG
        (ds / "params.yaml").write_text("changed: true\n")
        direct = world.repo.commit_all("direct push of a dataset change")
        world.push("main")
        pushed = world.run("push", push_payload(before=merge, after=direct),
                           api_url=fake.url, sha=direct, secrets=secrets)
        assert pushed.jobs == {"promote": "failure"} and pushed.step_exit == 1
        assert fake.calls("GET", rf"/commits/{direct}/pulls")
        assert len(fake.calls("POST", r"/comments$")) == 1, "only the merged PR's comment"
        assert _entry(world, _tip(world))["type"] == "denied"
        assert "direct push" in pushed.summary

        # a change that never got a promote run: the nightly verify goes red, naming it
        (ds / "params.yaml").write_text("changed: again\n")
        lost = world.repo.commit_all("change whose promote run was cancelled")
        world.push("main")
        nightly = world.run("schedule", {"schedule": "17 5 * * *"}, api_url=fake.url,
                            sha=lost, ref="refs/heads/main")
    assert nightly.jobs == {"verify": "failure"} and nightly.step_exit == 1
    assert nightly.outputs["decision"] == "deny"
    assert lost in nightly.summary
    assert merge not in nightly.summary and direct not in nightly.summary


def _entry(world: ActWorld, commit: str) -> dict[str, Any]:
    """The ledger entry that `commit` added."""
    [path] = git(world.repo.origin, "diff-tree", "--no-commit-id", "--name-only", "-r",
                 commit, "--", "entries/").split()
    return dict(json.loads(git(world.repo.origin, "show", f"{commit}:{path}")))


def test_key_revoked_on_the_default_branch_is_refused_and_nothing_is_pushed(
        tmp_path: Path, action_dir: Path) -> None:
    """Once a reviewed change lists the bot key in ledger/revoked_signers, the merge is
    not recorded at all (exit 2), not even as a denied entry: nothing reaches origin."""
    key, signers = bot_key(tmp_path)
    world = make_world(tmp_path, action_dir, allowed_signers=signers)
    ledger_init(world, key)
    revoked = " ".join((tmp_path / "bot_key.pub").read_text().split()[:2])
    (world.repo.work / "ledger" / "revoked_signers").write_text(revoked + "\n")
    world.repo.commit_all("ledger: revoke the leaked bot key")
    world.push("main")
    git(world.repo.work, "checkout", "-q", "-b", "add-gauges")
    add_dataset(world.repo)
    world.repo.commit_all("add dataset")
    before, merge = merge_pr(world, 7, "add-gauges")
    refs = git(world.repo.origin, "for-each-ref")
    with FakeGitHub(FULL_NAME) as fake:
        fake.add_pull(7, title="Add gauges", head_ref="add-gauges", merged=True,
                      merge_commit_sha=merge)
        fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
        res = world.run("push", push_payload(before=before, after=merge), api_url=fake.url,
                        sha=merge, secrets={"KFM_SIGNING_KEY": key.read_text()})
    assert res.jobs == {"promote": "failure"} and res.step_exit == 2, res.tail()
    assert res.outputs["decision"] == "error" and res.outputs["ledger-commit"] == ""
    assert "is revoked" in res.log and "ledger/revoked_signers" in res.log
    assert git(world.repo.origin, "for-each-ref") == refs, "something was pushed"
    assert "***" not in res.log
