"""The nightly verify keeps its checkpoint between runs (actions/cache) under act.

Three scheduled runs of the unmodified workflow around two promote runs (a promotion,
then a denied change, both signed ledger entries): on an empty cache the verify is full
and its checkpoint and verified state are saved; after the second entry the next night
restores them and checks only that entry (`verify --since`); after the ledger is
force-rewritten before the checkpoint on the origin, the restored checkpoint makes the
run fail, naming why. The cache is the actions/cache stand-in (a directory this test
owns).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from act_flow import bot_key, ledger_init, merge_pr
from act_runner import ActRun, ActWorld, make_world
from gh_fake import FakeGitHub
from gh_harness import FULL_NAME, SLUG, STEWARD, add_dataset, git, push_payload

pytestmark = pytest.mark.usefixtures("require_opa")
LEDGER = "kfm-ledger"
NIGHTLY = {"schedule": "17 5 * * *"}


def _nightly(world: ActWorld, api_url: str) -> ActRun:
    return world.run("schedule", NIGHTLY, api_url=api_url, sha=world.repo.head(),
                     ref=f"refs/heads/{world.branch}")


def _cached_keys(world: ActWorld) -> list[str]:
    return sorted(json.loads(m.read_text())["key"]
                  for m in world.cache_dir.glob("*/meta.json"))


def _promote(world: ActWorld, fake: FakeGitHub, number: int, branch: str,
             secrets: dict[str, str]) -> str:
    """Merge a steward-approved PR that adds the dataset (#7: promoted) or edits its
    params.yaml without updating the spec (later: denied, gate E), run the promote job
    for the push, and return the ledger commit it wrote (either way a signed entry)."""
    git(world.repo.work, "checkout", "-q", "-b", branch)
    ds = add_dataset(world.repo) if number == 7 else world.repo.work / "datasets" / SLUG
    if number != 7:
        (ds / "params.yaml").write_text(f"revision: {number}\n")
    world.repo.commit_all(f"dataset change #{number}")
    before, merge = merge_pr(world, number, branch)
    fake.add_pull(number, title=f"Gauges #{number}", head_ref=branch, merged=True,
                  merge_commit_sha=merge)
    fake.add_review(number, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
    res = world.run("push", push_payload(before=before, after=merge), api_url=fake.url,
                    sha=merge, secrets=secrets)
    want = ("success", "pass") if number == 7 else ("failure", "deny")
    assert (res.jobs["promote"], res.outputs["decision"]) == want, res.tail()
    return res.outputs["ledger-commit"]


def _force_rewrite_ledger(world: ActWorld) -> None:
    """Rewrite every ledger commit on the origin (the root's message changes, the later
    trees are replayed on top), move the branch and drop the tags: a forged history that
    no longer contains the checkpoint commit."""
    origin = world.repo.origin
    commits = git(origin, "rev-list", "--reverse", "--first-parent",
                  f"refs/heads/{LEDGER}").split()
    parent: list[str] = []
    for i, sha in enumerate(commits):
        message = git(origin, "log", "-1", "--format=%B", sha)
        if i == 0:
            message += "\nrewritten\n"
        new = git(origin, "commit-tree", f"{sha}^{{tree}}", *parent, "-m", message)
        parent = ["-p", new.strip()]
    git(origin, "update-ref", f"refs/heads/{LEDGER}", parent[1])
    for tag in git(origin, "tag", "--list", "kfm/*").split():
        git(origin, "tag", "-d", tag)


def test_nightly_verify_keeps_checkpoint_and_verifies_incrementally(
        tmp_path: Path, action_dir: Path) -> None:
    key, signers = bot_key(tmp_path)
    world = make_world(tmp_path, action_dir, allowed_signers=signers)
    ledger_init(world, key)
    secrets = {"KFM_SIGNING_KEY": key.read_text()}
    with FakeGitHub(FULL_NAME) as fake:
        first_entry = _promote(world, fake, 7, "add-gauges", secrets)
        first = _nightly(world, fake.url)  # empty cache: full verify
        assert first.jobs == {"verify": "success"}, first.tail()
        assert first.outputs["decision"] == "pass"
        assert first.outputs["checkpoint"].startswith("1:sha256:"), first.outputs
        assert first.outputs["checkpoint"].endswith(":" + first_entry)
        assert "cache (stand-in): no entry for key kfm-verify-" in first.log
        assert "incremental" not in first.summary and "ledger verified" in first.summary
        assert len(_cached_keys(world)) == 1

        entry = _promote(world, fake, 8, "more-gauges", secrets)
        second = _nightly(world, fake.url)  # restores the cache: only the new entry
        assert second.jobs == {"verify": "success"}, second.tail()
        assert "cache (stand-in): restored kfm-verify-" in second.log
        assert ("incremental: 1 new entries checked after checkpoint #1"
                in second.summary), second.summary
        checkpoint = second.outputs["checkpoint"]
        assert checkpoint.startswith("2:sha256:") and checkpoint.endswith(":" + entry)
        assert len(_cached_keys(world)) == 2

        _force_rewrite_ledger(world)
        third = _nightly(world, fake.url)
    assert third.jobs == {"verify": "failure"} and third.step_exit == 1, third.tail()
    assert third.outputs["decision"] == "deny" and third.outputs["checkpoint"] == ""
    assert "ledger INVALID" in third.summary, third.summary
    assert "rewritten" in third.summary and entry in third.summary, third.summary
    assert len(_cached_keys(world)) == 2, "a failed verify saves no checkpoint"
    assert third.network_attempts == 0
