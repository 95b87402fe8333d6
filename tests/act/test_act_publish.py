"""README "Artifacts in object storage": its promote workflow, verbatim, under act.

The workflow is the YAML block of "Credentials and the workflow", with only the bucket
substituted. The S3 store is moto on 127.0.0.1. As on a self-hosted runner, the endpoint
(`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`) is the runner machine's environment; the
credentials come from the `configure-aws-credentials` stand-in (see standins/README.md),
as the real action's OIDC exchange would give them, never from the spec or an input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest
from act_flow import bot_key, ledger_init, merge_pr, verify_signed
from act_runner import REPO, ActRun, ActWorld, make_world
from gh_fake import FakeGitHub
from gh_harness import FULL_NAME, SLUG, STEWARD, add_dataset, git, push_payload

sys.path.insert(0, str(REPO / "tests" / "docs"))

from readme_harness import section_blocks

pytestmark = pytest.mark.usefixtures("require_opa")
LEDGER = "kfm-ledger"
LAKE = "s3://your-lake/processed"


def readme_workflow(dest: Path, bucket: str) -> Path:
    [block] = section_blocks("Credentials and the workflow", shell=False)
    assert block.lang == "yaml" and LAKE in block.text
    path = dest / "promotion.yml"
    path.write_text(block.text.replace(LAKE, f"s3://{bucket}/processed"))
    return path


def _tip(world: ActWorld) -> str:
    return git(world.repo.origin, "rev-parse", f"refs/heads/{LEDGER}")


def _objects(s3: Any, bucket: str) -> dict[str, str]:
    """key -> sha256 digest of every object in the bucket."""
    c = s3.client()
    keys = [o["Key"] for o in c.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: "sha256:" + hashlib.sha256(c.get_object(Bucket=bucket, Key=k)["Body"].read())
            .hexdigest() for k in keys}


def _signed_subjects(world: ActWorld, version: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The manifest on the origin's ledger branch and the subjects its DSSE envelope signs."""
    files = git(world.repo.origin, "ls-tree", "-r", "--name-only", LEDGER).split()
    [manifest_path] = [f for f in files if f.endswith(f"/{version}/manifest.json")]
    manifest = json.loads(git(world.repo.origin, "show", f"{LEDGER}:{manifest_path}"))
    envelope = json.loads(git(world.repo.origin, "show",
                              f"{LEDGER}:{manifest_path[:-len('json')]}dsse.json"))
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"] == manifest
    return manifest, {s["name"]: "sha256:" + s["digest"]["sha256"]
                      for s in statement["subject"]}


class Lake:
    """The bucket, the runner's environment and the role's (test) credentials."""

    def __init__(self, tmp: Path, s3: Any) -> None:
        self.bucket = s3.bucket()
        self.secret = secrets.token_hex(20)
        creds = tmp / "aws-credentials"
        creds.touch(mode=0o600)
        creds.write_text(f"AWS_ACCESS_KEY_ID=AKIAKFMTEST{secrets.token_hex(4).upper()}\n"
                         f"AWS_SECRET_ACCESS_KEY={self.secret}\n"
                         f"AWS_SESSION_TOKEN={secrets.token_hex(32)}\n")
        self.runner_env = {"AWS_ENDPOINT_URL": s3.endpoint, "AWS_ALLOW_HTTP": "true",
                           "AWS_EC2_METADATA_DISABLED": "true",
                           "KFM_STANDIN_AWS_CREDENTIALS": str(creds)}
        self.workflow = readme_workflow(tmp, self.bucket)


def _world(tmp: Path, action_dir: Path, prefix: str) -> tuple[ActWorld, Path]:
    """main holds the trust root and `policy/publish.json` allowing `prefix`; the ledger
    exists; a PR adding the dataset is merged."""
    key, signers = bot_key(tmp)
    world = make_world(tmp, action_dir, allowed_signers=signers)
    (world.repo.work / "policy" / "publish.json").write_text(
        json.dumps({"kfm": {"publish_prefixes": [prefix]}}) + "\n")
    world.repo.commit_all("policy: allow the publish prefix")
    world.push(world.branch)
    ledger_init(world, key)
    git(world.repo.work, "checkout", "-q", "-b", "add-gauges")
    add_dataset(world.repo)
    world.repo.commit_all("add dataset")
    return world, key


def _run(world: ActWorld, key: Path, lake: Lake, fake: FakeGitHub, merge: str,
         before: str) -> ActRun:
    return world.run("push", push_payload(before=before, after=merge), api_url=fake.url,
                     sha=merge, secrets={"KFM_SIGNING_KEY": key.read_text()},
                     workflow=lake.workflow, runner_env=lake.runner_env)


def _fake_pull(fake: FakeGitHub, merge: str) -> None:
    fake.add_pull(7, title="Add gauges", head_ref="add-gauges", merged=True,
                  merge_commit_sha=merge)
    fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")


def _no_secret_in_log(res: ActRun, key: Path, lake: Lake) -> None:
    """Neither secret anywhere in act's output, masked wherever a message shows it.

    act's `--json` log also keeps, next to the printed (masked) message, the raw argument
    of the runner commands that carry a secret to the runner: the stand-in's
    `::add-mask::` and the `$GITHUB_ENV` lines act reports as `set-env`. A runner
    consumes those and never prints them; only their printed message is checked."""
    lines = [key_line for key_line in key.read_text().splitlines()
             if key_line and "PRIVATE KEY" not in key_line]
    masks = [e for e in res.events if e.get("command") == "add-mask"]
    assert lake.secret in {e["arg"] for e in masks}, "the stand-in must mask the secret"
    printed = []
    for ln in res.log.splitlines():
        event = json.loads(ln) if ln.startswith("{") else None
        if event and event.get("command") in ("add-mask", "set-env"):
            ln = str(event.get("msg", ""))
        printed.append(ln)
    log = "\n".join(printed)
    assert "AWS_SECRET_ACCESS_KEY=***" in log
    for line in lines:
        assert line not in log, "a line of the signing key reached the log"
    assert lake.secret not in log, "the AWS secret key reached the log"


def test_readme_workflow_publishes_signed_version_once(
        tmp_path: Path, action_dir: Path, s3_server: Any) -> None:
    lake = Lake(tmp_path, s3_server)
    world, key = _world(tmp_path, action_dir, f"s3://{lake.bucket}/processed")
    root = _tip(world)
    before, merge = merge_pr(world, 7, "add-gauges")
    with FakeGitHub(FULL_NAME) as fake:
        _fake_pull(fake, merge)
        res = _run(world, key, lake, fake, merge, before)
        assert res.jobs == {"promote": "success"}, res.tail()
        assert res.step_exit == 0 and res.code == 0
        assert res.outputs["decision"] == "pass"
        version = res.outputs["dataset-version-id"]
        tip = _tip(world)
        assert tip != root and res.outputs["ledger-commit"] == tip
        verify_signed(world, "verify-commit", tip)
        _no_secret_in_log(res, key, lake)
        assert res.network_attempts == 0

        manifest, subjects = _signed_subjects(world, version)
        final = f"processed/{SLUG}/{version}/"
        assert manifest["published_prefix"] == f"s3://{lake.bucket}/{final}"
        objects = {k: v for k, v in _objects(s3_server, lake.bucket).items()
                   if not k.startswith("processed/.kfm-staging/")}
        assert objects == {final + path: digest for path, digest in subjects.items()}
        assert {a["published_uri"] for a in manifest["artifacts"]} == {
            f"s3://{lake.bucket}/{k}" for k in objects}

        everything = _objects(s3_server, lake.bucket)
        again = _run(world, key, lake, fake, merge, before)
        assert again.jobs == {"promote": "success"}, again.tail()
        assert _tip(world) == tip, "a re-run adds no ledger commit"
        assert _objects(s3_server, lake.bucket) == everything, "a re-run writes no object"
        _no_secret_in_log(again, key, lake)


def test_prefix_not_allowed_by_base_policy_publishes_nothing(
        tmp_path: Path, action_dir: Path, s3_server: Any) -> None:
    """`processed-old` shares a string prefix with the README's `processed`, not a
    path segment: the policy on main denies, and nothing reaches the bucket."""
    lake = Lake(tmp_path, s3_server)
    world, key = _world(tmp_path, action_dir, f"s3://{lake.bucket}/processed-old")
    before, merge = merge_pr(world, 7, "add-gauges")
    with FakeGitHub(FULL_NAME) as fake:
        _fake_pull(fake, merge)
        res = _run(world, key, lake, fake, merge, before)
    assert res.jobs == {"promote": "failure"}, res.tail()
    assert res.outputs.get("decision") == "deny", res.tail()
    assert "F.publish_prefix_not_allowed" in res.log
    assert _objects(s3_server, lake.bucket) == {}
    subject = git(world.repo.origin, "log", "-1", "--format=%s", LEDGER)
    assert f"denied {SLUG}" in subject, subject
    _no_secret_in_log(res, key, lake)
