"""The unmodified promotion workflow under act on `pull_request`: the `check` job.

Payloads are the real octokit webhook examples (`webhooks/pull_request.*.json`), adapted
only where they must name the test repository: repository names, PR number, title, head
and base refs and SHAs, and the head repository (a fork or not). See `gh_harness.pr_payload`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from act_flow import open_pr, publish_pr
from act_runner import make_world
from gh_fake import Failure, FakeGitHub
from gh_harness import DS_DIR, PASS, pr_payload

pytestmark = pytest.mark.usefixtures("require_opa")


def _break_csv(ds: Path) -> None:
    with (ds / "processed" / "gauges.csv").open("a") as fh:
        fh.write("99,tampered\n")


def test_check_comments_once_then_edits_it(tmp_path: Path, action_dir: Path) -> None:
    canary = tmp_path / "canary"
    title = f'$(touch {canary}) `touch {canary}` "; touch {canary} #'
    branch = 'feat/$(id)-`id`-";touch-x'
    world = make_world(tmp_path, action_dir)
    base, head, merge = open_pr(world, 7, branch, _break_csv)
    with FakeGitHub() as fake:
        first = world.run("pull_request", pr_payload(
            "opened", number=7, title=title, head_ref=branch, head_sha=head, base_sha=base),
            api_url=fake.url, sha=merge)
        assert first.jobs == {"check": "failure"}, first.tail()
        assert first.step_exit == 1 and first.code != 0
        assert first.outputs["decision"] in ("deny", "quarantine")
        [comment] = fake.comments[7]
        body = comment["body"]
        assert body.startswith("<!-- kfm-promote:check -->")
        assert "digest_mismatch" in body
        assert first.outputs["spec-hash"].startswith("sha256:")
        assert first.outputs["spec-hash"] in body
        assert first.outputs["dataset-version-id"] in body
        assert first.summary.strip() == body.strip()
        assert title in body and branch in body, "payload text shown verbatim"
        assert not canary.exists(), "no command from the payload ran"
        assert any(e.get("command") == "error" and "::error file=datasets/" in e["msg"]
                   for e in first.events), "file annotations reached the runtime"

        # the contributor fixes the file and pushes: `synchronize`
        world.repo.work.joinpath(DS_DIR, "processed", "gauges.csv").write_bytes(
            (PASS / "processed" / "gauges.csv").read_bytes())
        head2 = world.repo.commit_all("fix csv")
        merge2 = publish_pr(world, 7, branch, base)
        second = world.run("pull_request", pr_payload(
            "synchronize", number=7, title=title, head_ref=branch, head_sha=head2,
            base_sha=base), api_url=fake.url, sha=merge2)
        assert second.jobs == {"check": "success"}, second.tail()
        assert second.step_exit == 0 and second.code == 0
        assert second.outputs["decision"] == "pass"
        assert len(fake.comments[7]) == 1, "the comment is edited, never duplicated"
        assert fake.comments[7][0]["id"] == comment["id"]
        assert fake.calls("PATCH", r"/issues/comments/\d+")
        assert "Would promote on merge" in fake.comments[7][0]["body"]
        assert all(r.auth == "token ghs_faketoken" for r in fake.requests)
    assert first.network_attempts == second.network_attempts == 0


def test_fork_pr_gets_summary_only_with_the_same_exit_code(tmp_path: Path,
                                                           action_dir: Path) -> None:
    world = make_world(tmp_path, action_dir)
    base, head, merge = open_pr(world, 9, "fork-branch", _break_csv, fork=True)
    with FakeGitHub() as fake:
        # a fork PR's token is read-only: GitHub answers 403 to the comment write
        fake.failures.append(Failure("POST", r"/issues/\d+/comments$", 403,
                                     body={"message": "Resource not accessible by integration"}))
        res = world.run("pull_request", pr_payload(
            "opened", number=9, title="Add gauges from a fork", head_ref="fork-branch",
            head_sha=head, base_sha=base, fork=True), api_url=fake.url, sha=merge)
        assert len(fake.calls("POST", r"/comments$")) == 1, "tried once, 403 not retried"
    assert res.jobs == {"check": "failure"}
    assert res.step_exit == 1, "the same exit code as with a comment"
    assert fake.comments.get(9) is None
    assert "digest_mismatch" in res.summary and "read-only token" in res.summary
    assert "Traceback" not in res.log
    assert res.network_attempts == 0

