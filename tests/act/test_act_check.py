"""The unmodified promotion workflow under act on `pull_request`: the `check` job.

Payloads are the real octokit webhook examples (`webhooks/pull_request.*.json`), adapted
only where they must name the test repository: repository names, PR number, title, head
and base refs and SHAs, and the head repository (a fork or not). See `gh_harness.pr_payload`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from act_flow import open_pr, publish_pr
from act_runner import make_world
from gh_fake import Failure, FakeGitHub
from gh_harness import DS_DIR, PASS, git, pr_payload

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
        # transient faults: a 502 outage and a rate limit are retried, never duplicated
        fake.failures.append(Failure("GET", r"/issues/\d+/comments$", 502, times=2))
        fake.failures.append(Failure("POST", r"/issues/\d+/comments$", 403, times=1,
                                     headers={"x-ratelimit-remaining": "0",
                                              "x-ratelimit-reset": "0"}))
        first = world.run("pull_request", pr_payload(
            "opened", number=7, title=title, head_ref=branch, head_sha=head, base_sha=base),
            api_url=fake.url, sha=merge)
        assert first.jobs == {"check": "failure"}, first.tail()
        assert first.step_exit == 1 and first.code != 0
        assert first.outputs["decision"] in ("deny", "quarantine")
        assert len(fake.calls("GET", r"/issues/7/comments$")) == 3
        assert len(fake.calls("POST", r"/issues/7/comments$")) == 2
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


LOCAL_FREEZE = """package kfm.promote

deny contains {"code": "LOCAL.frozen", "message": "this river is frozen by local policy",
               "path": "identity.dataset_slug"} if {
	input.identity.dataset_slug == "kansas_river_gauges"
}
"""


def test_fork_pr_weakening_the_policy_gets_summary_only(tmp_path: Path,
                                                        action_dir: Path) -> None:
    """A fork PR that also rewrites the policy: judged by the base branch's policy, the
    policy change flagged, and with a read-only token (403 on the comment write) the
    result in the job summary only, with the same exit code as with a comment."""
    world = make_world(tmp_path, action_dir, local_rego=LOCAL_FREEZE)
    policy = world.repo.work / "policy"

    def weaken(ds: Path) -> None:
        (policy / "local.rego").write_text("package kfm.promote\n")
        (policy / "stewards.json").write_text(
            '{"kfm": {"stewards": {"github:contributor": {"roles": ["steward"]}}}}\n')

    base, head, merge = open_pr(world, 9, "fork-branch", weaken, fork=True)
    with FakeGitHub() as fake:
        fake.failures.append(Failure("POST", r"/issues/\d+/comments$", 403,
                                     body={"message": "Resource not accessible by integration"}))
        res = world.run("pull_request", pr_payload(
            "opened", number=9, title="Add gauges from a fork", head_ref="fork-branch",
            head_sha=head, base_sha=base, fork=True), api_url=fake.url, sha=merge)
        assert len(fake.calls("POST", r"/comments$")) == 1, "tried once, 403 not retried"
    assert res.jobs == {"check": "failure"}, res.tail()
    assert res.step_exit == 1, "the same exit code as with a comment"
    assert fake.comments.get(9) is None
    summary = res.summary.replace("**", "")
    assert "read-only token" in summary
    assert "LOCAL.frozen" in summary, "the base branch's policy judged the PR"
    assert "policy or the ledger trust root" in summary
    assert "`policy/local.rego`" in summary and "`policy/stewards.json`" in summary
    assert "need review by a steward" in summary
    assert "Traceback" not in res.log
    assert res.network_attempts == 0


def test_api_outage_is_bounded_and_reported(tmp_path: Path, action_dir: Path) -> None:
    world = make_world(tmp_path, action_dir)
    base, head, merge = open_pr(world, 7, "flaky", _break_csv)
    with FakeGitHub() as fake:
        fake.failures.append(Failure("GET", r"/comments$", 503))
        res = world.run("pull_request", pr_payload(
            "reopened", number=7, title="Add gauges", head_ref="flaky", head_sha=head,
            base_sha=base), api_url=fake.url, sha=merge)
        assert len(fake.calls("GET", r"/comments$")) == 3  # bounded: KFM_GITHUB_RETRIES
    assert res.jobs == {"check": "failure"} and res.step_exit == 1, "the decision's code"
    assert any(e.get("command") == "warning" and "HTTP 503" in e["msg"] for e in res.events)
    assert "HTTP 503" in res.summary


def test_pr_without_dataset_change_posts_nothing(tmp_path: Path, action_dir: Path) -> None:
    world = make_world(tmp_path, action_dir)
    base = world.repo.head()
    git(world.repo.work, "checkout", "-q", "-b", "docs")
    (world.repo.work / "README.md").write_text("more docs\n")
    head = world.repo.commit_all("docs")
    merge = publish_pr(world, 7, "docs", base)
    with FakeGitHub() as fake:
        res = world.run("pull_request", pr_payload(
            "opened", number=7, title="Docs", head_ref="docs", head_sha=head, base_sha=base),
            api_url=fake.url, sha=merge)
        assert not fake.calls("POST", r"/comments$")
    assert res.jobs == {"check": "success"} and res.step_exit == 0, res.tail()
    assert res.outputs["decision"] == "pass"
    assert "no dataset changed" in res.summary


def test_stac_extension_schemas_come_from_the_base_branch(tmp_path: Path,
                                                         action_dir: Path) -> None:
    """The `schemas` input: the base branch's reviewed STAC extension schemas judge the
    PR; a schema the PR itself brings is not used (never fetched either)."""
    from tests_support import SHARED_DATA

    from promote_action.stac_schemas.fetch import add

    ext = SHARED_DATA / "stac-extensions"
    if not ext.is_dir():
        pytest.skip("shared STAC extension schemas are absent")
    proj = "https://stac-extensions.github.io/projection/v1.2.0/schema.json"
    view = "https://stac-extensions.github.io/view/v1.0.0/schema.json"
    world = make_world(tmp_path, action_dir)
    schemas = world.repo.work / "schemas" / "stac"
    add(schemas, [str(ext / "projection/v1.2.0/schema.json"),
                  str(ext / "_referenced/proj-v0.7/projjson.schema.json"),
                  str(ext / "_referenced/geojson/Geometry.json")])
    world.repo.commit_all("review the projection extension")
    world.push("main")

    def declare(exts: list[str]) -> Callable[[Path], None]:
        def mutate(ds: Path) -> None:
            item = ds / "catalog/stac/items/gauges.json"
            data = json.loads(item.read_text())
            data["stac_extensions"] = exts
            data["properties"].update({"proj:code": "EPSG:4326", "view:azimuth": 10})
            item.write_text(json.dumps(data, indent=2))
            if view in exts:  # the PR also brings the schema it wants to be judged by
                add(schemas, [str(ext / "view/v1.0.0/schema.json")])
        return mutate

    with FakeGitHub() as fake:
        base, head, merge = open_pr(world, 7, "with-proj", declare([proj]))
        res = world.run("pull_request", pr_payload(
            "opened", number=7, title="proj", head_ref="with-proj", head_sha=head,
            base_sha=base), api_url=fake.url, sha=merge)
        assert res.jobs == {"check": "success"}, res.tail()
        git(world.repo.work, "checkout", "-q", "main")
        base, head, merge = open_pr(world, 8, "with-view", declare([proj, view]))
        res = world.run("pull_request", pr_payload(
            "opened", number=8, title="view", head_ref="with-view", head_sha=head,
            base_sha=base), api_url=fake.url, sha=merge)
        body = fake.comments[8][0]["body"]
    assert res.jobs == {"check": "failure"} and res.step_exit == 1, res.tail()
    assert "D.stac_extension_unavailable" in body and "schemas add --dir schemas/stac" in body
