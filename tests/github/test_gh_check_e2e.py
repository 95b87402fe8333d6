"""`action.yml` in check mode through the step harness (`gh_harness.run_action`).

The check job under a real Actions runtime (act, `tests/act/test_act_check.py`) covers the
comment upsert across `opened`/`synchronize`, step outputs, annotations, fork PRs
(summary only, same exit code) and payload text with shell metacharacters. What stays
here needs no runtime and many runs or injected faults, where an act run (~8 s each)
would add nothing the action's own code does not already decide: the base branch's
policy judging a PR that edits it, bounded retries on API outages and rate limits, and a
PR that changes no dataset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gh_fake import Failure, FakeGitHub
from gh_harness import (
    GitRepo,
    add_dataset,
    git,
    make_repo,
    pr_payload,
    run_action,
)

pytestmark = pytest.mark.usefixtures("require_opa")


def _open_pr(repo: GitRepo, branch: str, mutate=None) -> tuple[str, str]:
    base = repo.head()
    git(repo.work, "checkout", "-q", "-b", branch)
    ds = add_dataset(repo)
    if mutate:
        mutate(ds)
    return base, repo.commit_all("add dataset")


def _check(fake: FakeGitHub, repo: GitRepo, tmp: Path, action: str, base: str, head: str,
           *, title: str = "Add Kansas River gauges", branch: str = "add-gauges",
           fork: bool = False, number: int = 7):
    payload = pr_payload(action, number=number, title=title, head_ref=branch, head_sha=head,
                         base_sha=base, fork=fork)
    return run_action({"mode": "check"}, event_name="pull_request", payload=payload,
                      workspace=repo.work, api_url=fake.url, tmp=tmp, sha=head,
                      ref=f"refs/pull/{number}/merge")


def _break_csv(ds: Path) -> None:
    with (ds / "processed" / "gauges.csv").open("a") as fh:
        fh.write("99,tampered\n")



LOCAL_FREEZE = """package kfm.promote

deny contains {"code": "LOCAL.frozen", "message": "this river is frozen by local policy",
               "path": "identity.dataset_slug"} if {
	input.identity.dataset_slug == "kansas_river_gauges"
}
"""


def test_pr_editing_policy_is_judged_by_base_policy(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, local_rego=LOCAL_FREEZE)

    def weaken(ds: Path) -> None:  # the PR also tries to "allow everything"
        (repo.work / "policy" / "local.rego").write_text("package kfm.promote\n")
        (repo.work / "policy" / "stewards.json").write_text(
            '{"kfm": {"stewards": {"github:contributor": {"roles": ["steward"]}}}}\n')

    base, head = _open_pr(repo, "sneaky", weaken)
    with FakeGitHub() as fake:
        res = _check(fake, repo, tmp_path, "opened", base, head)
    body = fake.comments[7][0]["body"]
    assert res.code == 1
    assert "LOCAL.frozen" in body, "the base branch's policy judged the PR"
    assert "policy or the ledger trust root" in body
    assert "`policy/local.rego`" in body and "`policy/stewards.json`" in body
    assert "need review by a steward" in body.replace("**", "")



def test_api_outage_is_retried_then_reported_without_changing_the_decision(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    base, head = _open_pr(repo, "flaky", _break_csv)
    with FakeGitHub() as fake:
        fake.failures.append(Failure("GET", r"/issues/\d+/comments$", 502, times=2))
        fake.failures.append(Failure("POST", r"/issues/\d+/comments$", 403, times=1,
                                     headers={"x-ratelimit-remaining": "0",
                                              "x-ratelimit-reset": "0"}))
        res = _check(fake, repo, tmp_path, "opened", base, head)
        assert len(fake.calls("GET", r"/issues/7/comments$")) == 3
        assert len(fake.calls("POST", r"/issues/7/comments$")) == 2
        assert len(fake.comments[7]) == 1
    assert res.code == 1

    with FakeGitHub() as fake:
        fake.failures.append(Failure("GET", r"/comments$", 503))
        res = _check(fake, repo, tmp_path, "reopened", base, head)
        assert len(fake.calls("GET", r"/comments$")) == 3  # bounded: KFM_GITHUB_RETRIES
    assert res.code == 1
    assert "HTTP 503" in res.out and "::warning" in res.out
    assert "HTTP 503" in res.summary



def test_no_dataset_change_posts_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    base = repo.head()
    git(repo.work, "checkout", "-q", "-b", "docs")
    (repo.work / "README.md").write_text("more docs\n")
    head = repo.commit_all("docs")
    with FakeGitHub() as fake:
        res = _check(fake, repo, tmp_path, "opened", base, head)
        assert not fake.calls("POST", r"/comments$")
    assert res.code == 0 and res.outputs["decision"] == "pass"
    assert "no dataset changed" in res.summary
