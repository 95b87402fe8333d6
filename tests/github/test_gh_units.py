"""Unit tests of the GitHub surface: payload parsing, approvals, retry, escaping, discovery."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
from gh_fake import Failure, FakeGitHub
from gh_harness import SHARED_DATA, git, make_repo

from promote_action.errors import InputError
from promote_action.github.api import GitHubApiError, GitHubClient, Review
from promote_action.github.approvals import approvals_from_reviews, steward_roles
from promote_action.github.changes import discover, export_dir
from promote_action.github.context import GitHubEnv
from promote_action.github.outputs import set_outputs
from promote_action.report.markdown import code

WEBHOOKS = SHARED_DATA / "webhooks"


def _env(event_name: str, payload_file: Path) -> GitHubEnv:
    return GitHubEnv.from_environ({"GITHUB_EVENT_NAME": event_name,
                                   "GITHUB_EVENT_PATH": str(payload_file)})


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "closed"])
def test_real_pull_request_payloads_parse(action: str) -> None:
    path = WEBHOOKS / f"pull_request.{action}.json"
    raw = json.loads(path.read_text())
    pr = _env("pull_request", path).pull_request()
    assert pr.number == raw["number"] and pr.head_sha == raw["pull_request"]["head"]["sha"]
    assert pr.base_ref == raw["pull_request"]["base"]["ref"] and not pr.is_fork
    assert _env("pull_request", path).repository == "Codertocat/Hello-World"


def test_real_push_payload_parses_and_wrong_event_is_input_error() -> None:
    env = _env("push", WEBHOOKS / "push.json")
    push = env.push()
    assert push.after == "6113728f27ae82c7b1a177c8d03f9e96e0adf246" and push.before == "0" * 40
    with pytest.raises(InputError, match="not a pull request"):
        env.pull_request()


def test_event_env_is_read_lazily_and_validated(tmp_path: Path) -> None:
    bad = tmp_path / "e.json"
    bad.write_text("[1]")
    with pytest.raises(InputError, match="not a JSON object"):
        GitHubEnv.from_environ({"GITHUB_EVENT_PATH": str(bad), "GITHUB_REPOSITORY": "a/b"})
    with pytest.raises(InputError, match="GITHUB_REPOSITORY"):
        GitHubEnv.from_environ({})


def test_approvals_latest_review_per_steward() -> None:
    data = {"kfm": {"stewards": {"github:sam": {"roles": ["steward"]},
                                 "github:ann": {"roles": ["steward", "privacy"]}}}}
    reviews = [Review("sam", "APPROVED", "2026-01-01T00:00:00Z", 1),
               Review("sam", "CHANGES_REQUESTED", "2026-01-02T00:00:00Z", 2),
               Review("ann", "APPROVED", "2026-01-03T00:00:00Z", 3),
               Review("ann", "COMMENTED", "2026-01-04T00:00:00Z", 4),
               Review("eve", "APPROVED", "2026-01-05T00:00:00Z", 5)]
    got = approvals_from_reviews(reviews, data)
    assert [(a.principal, a.role, a.approved_at) for a in got] == [
        ("github:ann", "privacy", "2026-01-03T00:00:00Z"),
        ("github:ann", "steward", "2026-01-03T00:00:00Z")]
    assert approvals_from_reviews(reviews, data, exclude=["ann"]) == []
    assert steward_roles({"kfm": {"stewards": ["github:x"]}}) == {"github:x": {"steward"}}
    assert steward_roles({"kfm": {"stewards": 5}}) == {}


def test_client_retries_rate_limit_then_gives_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("KFM_GITHUB_RETRY_BASE", "0")
    monkeypatch.setenv("KFM_GITHUB_RETRIES", "4")
    with FakeGitHub("o/r") as fake:
        fake.add_pull(3, title="t", head_ref="h", merged=True, merge_commit_sha="a" * 40)
        fake.failures += [Failure("GET", r"/pulls$", 429, {"Retry-After": "0"}, times=1),
                          Failure("GET", r"/pulls$", 403, {"x-ratelimit-remaining": "0"},
                                  times=1),
                          Failure("GET", r"/pulls$", 500, times=1)]
        client = GitHubClient(fake.url, "tok", "o/r")
        [pr] = client.pulls_for_commit("a" * 40)
        assert pr.number == 3 and pr.merged and len(fake.calls("GET", "/pulls$")) == 4
        fake.failures.append(Failure("GET", r"/reviews$", 502))
        with pytest.raises(GitHubApiError, match=r"HTTP 502.*https://") as e:
            client.reviews(3)
        assert e.value.exit_code == 2 and len(fake.calls("GET", "/reviews$")) == 4
        fake.failures.append(Failure("GET", r"/comments$", 404, times=1))
        with pytest.raises(GitHubApiError):
            client.upsert_comment(3, "x")
        assert len(fake.calls("GET", "/comments$")) == 1, "404 is not retried"


def test_upsert_never_edits_a_humans_comment_quoting_the_marker() -> None:
    with FakeGitHub("o/r") as fake:
        human = fake._new_comment(4, "<!-- kfm-promote:check --> I quote it")
        human["user"] = {"login": "mallory", "type": "User", "id": 9}
        client = GitHubClient(fake.url, "tok", "o/r")
        client.upsert_comment(4, "<!-- kfm-promote:check -->\nours")
        client.upsert_comment(4, "<!-- kfm-promote:check -->\nours again")
        assert [c["body"] for c in fake.comments[4]] == [
            "<!-- kfm-promote:check --> I quote it", "<!-- kfm-promote:check -->\nours again"]


@pytest.mark.parametrize("text", ["plain", "a `tick`", "``double``", "`edge`", "x | y",
                                  '$(id) `id` "; rm -rf ~'])
def test_code_span_shows_text_verbatim(text: str) -> None:
    span = code(text)
    fence = span[:len(span) - len(span.lstrip("`"))]
    inner = span[len(fence):-len(fence)]
    assert inner.strip(" ").replace("\\|", "|") == text
    assert fence not in inner


def test_outputs_cannot_be_injected_by_values(tmp_path: Path) -> None:
    out = tmp_path / "out"
    set_outputs(out, {"decision": "pass\nledger-commit=evil\nEOF", "report-path": "/r"})
    from gh_harness import parse_outputs
    assert parse_outputs(out.read_text()) == {"decision": "pass\nledger-commit=evil\nEOF",
                                              "report-path": "/r"}


def test_discover_nested_and_policy_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    base = repo.head()
    for d in ("a", "a/nested"):
        (repo.work / d).mkdir(parents=True, exist_ok=True)
        (repo.work / d / "spec.yaml").write_text("x: 1\n")
    (repo.work / "policy" / "extra.rego").write_text("package kfm.promote\n")
    (repo.work / "policy" / "spec.yaml").write_text("not a dataset\n")
    (repo.work / "ledger" / "allowed_signers").write_text("k\n")
    head = repo.commit_all("x")
    ch = discover(repo.work, base, head)
    assert ch.datasets == ("a", "a/nested")
    assert ch.policy_files == ("policy/extra.rego", "policy/spec.yaml")
    assert ch.trust_files == ("ledger/allowed_signers",)
    (repo.work / "a" / "nested" / "data.csv").write_text("1\n")
    head2 = repo.commit_all("y")
    assert discover(repo.work, head, head2).datasets == ("a/nested",)
    git(repo.work, "rm", "-rq", "a/nested")
    head3 = repo.commit_all("z")
    assert discover(repo.work, head2, head3).removed_datasets == ("a/nested",)


@pytest.mark.parametrize("filters", [True, False], ids=["py>=3.11.4", "py<3.11.4"])
def test_export_dir_with_and_without_tarfile_filters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filters: bool) -> None:
    if not filters:  # Python 3.11.0-3.11.3 have no extraction filters
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    repo = make_repo(tmp_path, local_rego="package kfm.promote\n")
    out = export_dir(repo.work, repo.head(), "policy", tmp_path / "base")
    assert out is not None
    assert sorted(p.name for p in out.iterdir()) == ["local.rego", "stewards.json"]
    assert (out / "local.rego").read_text() == "package kfm.promote\n"
    os.symlink("/etc/passwd", repo.work / "policy" / "link.json")
    link = repo.commit_all("a link out of the tree")
    with pytest.raises((tarfile.TarError, InputError)):  # refused either way
        export_dir(repo.work, link, "policy", tmp_path / "linked")
    assert not (tmp_path / "linked" / "policy" / "link.json").exists()


def test_verify_mode_continues_from_the_checkpoint_input(tmp_path: Path) -> None:
    """The action's checkpoint input becomes `verify --since`, its state-dir input the
    directory the verified state is kept in (relative to the checkout); without a
    checkpoint the whole ledger is verified."""
    from promote_action.github.runner import ActionOptions
    from promote_action.github.verify import since_flags

    cp = "4:sha256:" + "a" * 64 + ":" + "b" * 40
    opts = ActionOptions(repo=tmp_path, checkpoint=cp, state_dir="../state")
    assert since_flags(opts) == ["--since", cp, "--state-dir", str(tmp_path / "../state")]
    assert since_flags(ActionOptions(repo=tmp_path)) == []
