"""End to end: `action.yml` in check mode on real PR webhook payloads, real git, real OPA."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gh_fake import Failure, FakeGitHub
from gh_harness import (
    DS_DIR,
    PASS,
    SLUG,
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


def test_failing_pr_comments_then_fix_edits_same_comment(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    base, head = _open_pr(repo, "add-gauges", _break_csv)
    with FakeGitHub() as fake:
        first = _check(fake, repo, tmp_path, "opened", base, head)
        assert first.code == 1, first.err
        assert first.outputs["decision"] in ("deny", "quarantine")
        [comment] = fake.comments[7]
        body = comment["body"]
        assert body.startswith("<!-- kfm-promote:check -->")
        assert "digest_mismatch" in body and SLUG in body and "spec_hash" in body
        assert "```mermaid" in body and "WORK / QUARANTINE" in body
        assert first.summary.strip() == body.strip()
        assert "::error file=" in first.out  # annotations on the offending files
        assert first.outputs["spec-hash"].startswith("sha256:")
        assert Path(first.outputs["report-path"]).is_file()

        # the contributor fixes the file and pushes (synchronize)
        shutil.copy(PASS / "processed" / "gauges.csv", repo.work / DS_DIR / "processed")
        head2 = repo.commit_all("fix csv")
        second = _check(fake, repo, tmp_path, "synchronize", base, head2)
        assert len(fake.comments[7]) == 1, "the comment is edited, never duplicated"
        assert fake.calls("PATCH", r"/issues/comments/\d+")
        body2 = fake.comments[7][0]["body"]
        assert comment["id"] == fake.comments[7][0]["id"]
        assert "digest_mismatch" not in body2
        assert second.code == 0, second.out + second.err
        assert "PASS" in body2 and "Awaiting steward approval" in body2
        assert "Would promote on merge" in body2
        assert all(r.auth == "token ghs_faketoken" for r in fake.requests)


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


def test_fork_pr_without_write_gets_summary_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    base, head = _open_pr(repo, "fork-branch", _break_csv)
    with FakeGitHub() as fake:
        fake.failures.append(Failure("POST", r"/issues/\d+/comments$", 403,
                                     body={"message": "Resource not accessible by integration"}))
        res = _check(fake, repo, tmp_path, "opened", base, head, fork=True)
        assert fake.calls("POST", r"/comments$"), "it tried once"
        assert len(fake.calls("POST", r"/comments$")) == 1, "403 is not retried"
    assert res.code == 1, "same exit code as with a comment"
    assert "Traceback" not in res.err
    assert fake.comments.get(7) is None
    assert "digest_mismatch" in res.summary
    assert "read-only token" in res.summary


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


def test_shell_metacharacters_in_title_and_branch_are_data(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    title = f'$(touch {canary}) `touch {canary}` "; rm -rf ~; touch {canary} #'
    branch = 'feat/$(id)-`id`-";rm-rf'
    repo = make_repo(tmp_path)
    base, head = _open_pr(repo, branch, _break_csv)
    home_marker = tmp_path / "home" / "keep"
    home_marker.parent.mkdir(exist_ok=True)
    home_marker.write_text("x")
    with FakeGitHub() as fake:
        res = _check(fake, repo, tmp_path, "opened", base, head, title=title, branch=branch)
    body = fake.comments[7][0]["body"]
    assert res.code == 1
    assert not canary.exists() and home_marker.exists(), "no command from the payload ran"
    assert title in body and branch in body, "shown verbatim"
    assert title in res.summary


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


def test_stac_extension_schemas_come_from_the_base_branch(tmp_path: Path) -> None:
    import json

    from tests_support import SHARED_DATA

    from promote_action.stac_schemas.fetch import add

    ext = SHARED_DATA / "stac-extensions"
    if not ext.is_dir():
        pytest.skip("shared STAC extension schemas are absent")
    proj = "https://stac-extensions.github.io/projection/v1.2.0/schema.json"
    view = "https://stac-extensions.github.io/view/v1.0.0/schema.json"
    repo = make_repo(tmp_path)
    add(repo.work / "schemas" / "stac", [str(ext / "projection/v1.2.0/schema.json"),
                                         str(ext / "_referenced/proj-v0.7/projjson.schema.json"),
                                         str(ext / "_referenced/geojson/Geometry.json")])
    repo.commit_all("review the projection extension")

    def declare(exts: list[str]):  # type: ignore[no-untyped-def]
        def mutate(ds: Path) -> None:
            item = ds / "catalog/stac/items/gauges.json"
            data = json.loads(item.read_text())
            data["stac_extensions"] = exts
            data["properties"].update({"proj:code": "EPSG:4326", "view:azimuth": 10})
            item.write_text(json.dumps(data, indent=2))
            if view in exts:  # the PR also brings the schema it wants to be judged by
                add(repo.work / "schemas" / "stac", [str(ext / "view/v1.0.0/schema.json")])
        return mutate

    base, head = _open_pr(repo, "with-proj", declare([proj]))
    with FakeGitHub() as fake:
        res = _check(fake, repo, tmp_path, "opened", base, head)
    assert res.code == 0, res.out + res.err
    git(repo.work, "checkout", "-q", "main")
    base, head = _open_pr(repo, "with-view", declare([proj, view]))
    with FakeGitHub() as fake:
        res = _check(fake, repo, tmp_path, "opened", base, head, number=8)
        body = fake.comments[8][0]["body"]
    assert res.code == 1
    assert "D.stac_extension_unavailable" in body and "schemas add --dir schemas/stac" in body
