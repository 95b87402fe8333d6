"""The action in promote mode with `publish-to`: the job's standard AWS environment (as
an OIDC credentials step leaves it) reaches `promote`, the merged version is copied into
the bucket, and the manifest on the ledger names the published URIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gh_fake import FakeGitHub
from gh_harness import FULL_NAME, SLUG, STEWARD, git
from test_gh_promote_e2e import LEDGER, _keyed_repo, _merge_dataset_pr

pytestmark = pytest.mark.usefixtures("require_opa")


def test_promote_mode_publishes_with_the_job_credentials(tmp_path: Path, s3_server: Any
                                                         ) -> None:
    repo, key = _keyed_repo(tmp_path)
    bucket = s3_server.bucket()
    (repo.work / "policy" / "publish.json").write_text(
        json.dumps({"kfm": {"publish_prefixes": [f"s3://{bucket}/processed"]}}))
    repo.commit_all("allow publishing to the lake")
    git(repo.work, "push", "-q", "origin", "main")
    before, merge = _merge_dataset_pr(repo)
    inputs = {"mode": "promote", "signing-key": key.read_text(),
              "publish-to": f"s3://{bucket}/processed"}
    with FakeGitHub(FULL_NAME) as fake:
        fake.add_pull(7, title="Add gauges", head_ref="add-gauges", merged=True,
                      merge_commit_sha=merge)
        fake.add_review(7, STEWARD, "APPROVED", "2026-02-09T12:00:00Z")
        from gh_harness import push_payload, run_action

        without = run_action(inputs, event_name="push",
                             payload=push_payload(before=before, after=merge),
                             workspace=repo.work, api_url=fake.url, tmp=tmp_path, sha=merge,
                             job_env={k: v for k, v in s3_server.env.items()
                                      if not k.startswith("AWS_ACCESS_KEY_ID")})
        assert without.code == 2, without.out + without.err  # no credentials: nothing done
        assert "no S3 credentials" in without.out + without.err
        run = run_action(inputs, event_name="push",
                         payload=push_payload(before=before, after=merge),
                         workspace=repo.work, api_url=fake.url, tmp=tmp_path, sha=merge,
                         job_env=s3_server.env)
        assert run.code == 0, run.out + run.err
    listed = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="processed/")
    names = sorted(o["Key"].rsplit("/", 2)[-2] + "/" + o["Key"].rsplit("/", 1)[1]
                   for o in listed["Contents"])
    assert names == ["processed/gauges.csv", "processed/gauges.geojson"]
    files = git(repo.origin, "ls-tree", "-r", "--name-only", LEDGER).split()
    manifest_path = next(f for f in files if f.startswith(f"datasets/{SLUG}/")
                         and f.endswith("/manifest.json"))
    manifest = json.loads(git(repo.origin, "show", f"{LEDGER}:{manifest_path}"))
    assert manifest["published_prefix"].startswith(f"s3://{bucket}/processed/{SLUG}/")
    assert all(a["published_uri"].startswith(manifest["published_prefix"])
               for a in manifest["artifacts"])
