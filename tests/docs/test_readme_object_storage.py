"""README "Artifacts in object storage": its commands run verbatim against the local S3
server (only the bucket URL substituted), and its workflow passes actionlint and zizmor.

The reader's repository is first set up as the README's earlier sections leave it: a
dataset, the stewards file and a trust root on `main`. The dry run must list both copies
and write nothing; then the promote job (played by `kfm-promote promote --publish-to`, as
the action runs it) publishes; the auditor's command must find both objects, and then a
changed one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from readme_harness import REPO, Shell, section_blocks, user_env

SLUG = "kansas_river_gauges"
LAKE = "s3://your-lake"


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def reader_repo(tmp: Path, env: dict[str, str]) -> Path:
    repo = tmp / "your-datasets"
    shutil.copytree(REPO / "fixtures" / "pass" / SLUG, repo / "datasets" / SLUG)
    (repo / "policy").mkdir()
    (repo / "policy" / "stewards.json").write_text(json.dumps(
        {"kfm": {"stewards": {"github:alice": {"roles": ["steward"]}}}}))
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kfm-ledger-bot",
                    "-f", str(tmp / "kfm_ledger_key")], check=True, env=env)
    pub = (tmp / "kfm_ledger_key.pub").read_text().split()
    (repo / "ledger").mkdir()
    (repo / "ledger" / "allowed_signers").write_text(
        f'kfm-ledger-bot@your-org namespaces="git" {pub[0]} {pub[1]}\n')
    git(tmp, env, "init", "-q", "-b", "main", str(repo))
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "datasets, stewards and trust root")
    return repo


def publish_job(repo: Path, env: dict[str, str], key: Path, bucket: str) -> str:
    """The action's promote mode after the merge, with `publish-to` set."""
    from promote_action.spec import load_spec

    version = load_spec(repo / "datasets" / SLUG).identity.dataset_version_id
    proc = subprocess.run(
        ["kfm-promote", "promote", "--dataset-slug", SLUG, "--dataset-version-id", version,
         "--spec", f"datasets/{SLUG}", "--policy", "policy", "--approver",
         "principal:github:alice", "--approver-role", "steward",
         "--released-at", "2026-03-01T12:00:00Z", "--engine", "embedded",
         "--publish-to", f"s3://{bucket}/processed"],
        cwd=repo, env={**env, "KFM_SIGNING_KEY": key.read_text()}, capture_output=True,
        text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return version


def listed(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in
                  s3.client().list_objects_v2(Bucket=bucket).get("Contents", []))


def test_object_storage_section(tmp_path: Path, s3_server: Any) -> None:
    env = user_env(tmp_path / "home", **s3_server.env)
    repo = reader_repo(tmp_path, env)
    bucket = s3_server.bucket()
    shell = Shell(repo, env, urls={LAKE: f"s3://{bucket}"})
    policy, dry_run, audit = section_blocks("Allow the publish prefix")
    shell.run_block(policy)
    assert json.loads((repo / "policy" / "publish.json").read_text()) == {
        "kfm": {"publish_prefixes": [f"s3://{bucket}/processed"]}}
    steps = shell.run_block(dry_run)
    out = steps.find("--dry-run").out
    assert out.count("would copy processed/") == 2 and "dry run: nothing written" in out
    assert listed(s3_server, bucket) == []
    version = publish_job(repo, env, tmp_path / "kfm_ledger_key", bucket)
    final = f"processed/{SLUG}/{version}/"
    assert listed(s3_server, bucket) == [final + "processed/gauges.csv",
                                         final + "processed/gauges.geojson"]
    assert "published objects OK: 2 re-hashed" in shell.run_block(audit).steps[0].out
    s3_server.put(bucket, final + "processed/gauges.csv", b"changed\n")
    try:
        shell.run_block(audit)
    except AssertionError as e:  # the README says: exit 1, with the entry and URI
        assert "exited 1" in str(e)
        assert f"entry #1 {SLUG} {version}: changed s3://{bucket}/{final}" in str(e)
    else:
        raise AssertionError("a changed published object passed verify --artifacts")


def test_object_storage_workflow_is_pinned_and_lints_clean(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "github"))
    from test_gh_lint import _PIN, _actionlint, _zizmor

    [block] = section_blocks("Credentials and the workflow", shell=False)
    assert block.lang == "yaml"
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "promotion.yml").write_text(block.text)
    for uses in re.findall(r"uses: (\S+)", block.text):
        assert _PIN.match(uses), uses
    assert "id-token: write" in block.text and "publish-to:" in block.text
    lint = subprocess.run([_actionlint(), ".github/workflows/*.yml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    z = subprocess.run([_zizmor(), "--offline", "--no-progress", ".github/workflows/"],
                       cwd=tmp_path, capture_output=True, text=True, check=False)
    assert z.returncode == 0, z.stdout + z.stderr
