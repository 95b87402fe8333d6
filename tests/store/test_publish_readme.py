"""README "Artifacts in object storage": its commands run verbatim against the local S3
server (only the bucket URL substituted), and its workflow passes actionlint and zizmor.

The repository a reader has is set up first, as the README's earlier sections leave it:
a dataset, the stewards file, a trust root on `main`, and (before the auditor's command)
one promotion published with `--publish-to`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from publish_support import keys
from tests_support import PASS_DIR, REPO

README = REPO / "README.md"
SECTION = "## Artifacts in object storage"
SLUG = "kansas_river_gauges"


def blocks(lang: str) -> list[tuple[str, str]]:
    """(subsection, body) of each ```lang block in the README section."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    out, sub = [], ""
    for m in re.finditer(r"^(#{3} [^\n]+)$|^```(\w*)\n(.*?)^```$", text[start:end],
                         re.MULTILINE | re.DOTALL):
        if m.group(1):
            sub = m.group(1)[4:]
        elif m.group(2) == lang:
            out.append((sub, m.group(3)))
    return out


def sh(body: str, cwd: Path, env: dict[str, str], bucket: str
       ) -> subprocess.CompletedProcess[str]:
    script = "set -eo pipefail\n" + body.replace("s3://your-lake", f"s3://{bucket}")
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def reader_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The reader's repository after the README's "Use it in your repository" steps."""
    repo = tmp_path / "your-datasets"
    (repo / "datasets").mkdir(parents=True)
    shutil.copytree(PASS_DIR / SLUG, repo / "datasets" / SLUG)
    (repo / "policy").mkdir()
    (repo / "policy" / "stewards.json").write_text(json.dumps(
        {"kfm": {"stewards": {"github:alice": {"roles": ["steward"]}}}}))
    env = {**os.environ, "HOME": str(tmp_path / "home"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.org",
           "GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "dana@example.org",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    (tmp_path / "home").mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kfm-ledger-bot",
                    "-f", str(tmp_path / "kfm_ledger_key")], check=True, env=env)
    (repo / "ledger").mkdir()
    pub = (tmp_path / "kfm_ledger_key.pub").read_text().split()
    (repo / "ledger" / "allowed_signers").write_text(
        f'kfm-ledger-bot@your-org namespaces="git" {pub[0]} {pub[1]}\n')
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "datasets"], cwd=repo, check=True, env=env)
    env["KFM_SIGNING_KEY"] = (tmp_path / "kfm_ledger_key").read_text()
    return repo, env


def test_object_storage_section_runs_against_local_s3(reader_repo: Any, s3_server: Any
                                                      ) -> None:
    repo, env = reader_repo
    env = {**env, **s3_server.env}
    bucket = s3_server.bucket()
    found = blocks("sh")
    assert len(found) == 3 and {s for s, _ in found} == {"Allow the publish prefix"}
    policy, dry_run, audit = (b for _, b in found)
    for body in (policy, dry_run):
        p = sh(body, repo, env, bucket)
        assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("would copy processed/") == 2, p.stdout
    assert keys(s3_server, bucket) == {}  # the dry run wrote nothing
    # the merge's promote job publishes (what the workflow below runs)
    version = json.loads(subprocess.run(
        ["kfm-promote", "hash", "--spec", f"datasets/{SLUG}", "--format", "json"], cwd=repo,
        env=env, capture_output=True, text=True, check=True).stdout)["dataset_version_id"]
    promote = subprocess.run(
        ["kfm-promote", "promote", "--dataset-slug", SLUG, "--dataset-version-id", version,
         "--spec", f"datasets/{SLUG}", "--policy", "policy", "--approver",
         "principal:github:alice", "--approver-role", "steward", "--released-at",
         "2026-03-01T12:00:00Z", "--publish-to", f"s3://{bucket}/processed"],
        cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert promote.returncode == 0, promote.stdout + promote.stderr
    p = sh(audit, repo, env, bucket)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "published objects OK: 2 re-hashed" in p.stdout
    s3_server.put(bucket, f"processed/{SLUG}/{version}/processed/gauges.csv", b"x\n")
    p = sh(audit, repo, env, bucket)
    assert p.returncode == 1 and f"{SLUG} {version}: changed s3://{bucket}/" in p.stdout


def test_object_storage_workflow_is_pinned_and_lints_clean(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "github"))
    from test_gh_lint import _PIN, _actionlint, _zizmor

    (workflow,) = [b for _, b in blocks("yaml")]
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "promotion.yml").write_text(workflow)
    for uses in re.findall(r"uses: (\S+)", workflow):
        assert _PIN.match(uses), uses
    assert "id-token: write" in workflow and "publish-to:" in workflow
    lint = subprocess.run([_actionlint(), ".github/workflows/*.yml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    z = subprocess.run([_zizmor(), "--offline", "--no-progress", ".github/workflows/"],
                       cwd=tmp_path, capture_output=True, text=True, check=False)
    assert z.returncode == 0, z.stdout + z.stderr
