"""The test repository and event payloads shared by the GitHub tests.

A bare origin plus a working clone (any default branch name), the reference dataset, and
the real octokit webhook payloads adapted to the test repository. The workflow and the
action themselves run under a real Actions runtime, act (`tests/act/`): it reaches
everything the step harness that interpreted `action.yml` here used to, so that harness
and its end-to-end tests are gone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests_support import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
PASS = REPO / "fixtures" / "pass" / "kansas_river_gauges"
SLUG = "kansas_river_gauges"
DS_DIR = f"datasets/{SLUG}"
FULL_NAME = "kfm-org/datasets"
STEWARD = "steward-sam"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV, **(env or {})}, check=False)
    if proc.returncode:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr}")
    return proc.stdout.strip()


GIT_ENV = {"GIT_AUTHOR_NAME": "Contributor", "GIT_AUTHOR_EMAIL": "c@example.org",
           "GIT_COMMITTER_NAME": "Contributor", "GIT_COMMITTER_EMAIL": "c@example.org",
           "GIT_AUTHOR_DATE": "2026-02-10T12:00:00Z", "GIT_COMMITTER_DATE":
           "2026-02-10T12:00:00Z", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1"}


def parse_outputs(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file as the runner does (`name=value` and heredoc blocks)."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        name, sep, delim = lines[i].partition("<<")
        if sep:
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
        else:
            k, _, v = lines[i].partition("=")
            out[k] = v
            i += 1
    return out


# --- the test repository ----------------------------------------------------------------

STEWARDS = {"kfm": {"stewards": {f"github:{STEWARD}": {"roles": ["steward"]}}}}


@dataclass
class GitRepo:
    origin: Path
    work: Path

    def commit_all(self, message: str) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        return git(self.work, "rev-parse", "HEAD")

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")


def make_repo(tmp: Path, *, local_rego: str = "", allowed_signers: str = "",
              branch: str = "main", origin: Path | None = None) -> GitRepo:
    """A bare origin and a working clone whose default branch is `branch`."""
    origin, work = origin or tmp / "origin.git", tmp / "work"
    origin.parent.mkdir(parents=True, exist_ok=True)
    git(tmp, "init", "-q", "--bare", "-b", branch, str(origin))
    git(tmp, "init", "-q", "-b", branch, str(work))
    (work / "policy").mkdir()
    (work / "policy" / "stewards.json").write_text(json.dumps(STEWARDS, indent=2) + "\n")
    if local_rego:
        (work / "policy" / "local.rego").write_text(local_rego)
    (work / "ledger").mkdir()
    (work / "ledger" / "allowed_signers").write_text(allowed_signers)
    (work / "README.md").write_text("datasets\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", branch)
    return GitRepo(origin, work)


def add_dataset(repo: GitRepo) -> Path:
    dst = repo.work / DS_DIR
    shutil.copytree(PASS, dst)
    return dst


def pr_payload(action: str, *, number: int, title: str, head_ref: str, head_sha: str,
               base_sha: str, fork: bool = False, base_ref: str = "main") -> dict[str, Any]:
    """The real webhook example, adapted to the test repo (shape kept): repository names,
    PR number, title, head/base refs and SHAs, and the head repo (a fork or not)."""
    src = SHARED_DATA / "webhooks" / f"pull_request.{action}.json"
    p = json.loads(src.read_text())
    p["action"] = action
    p["number"] = number
    pr = p["pull_request"]
    pr.update(number=number, title=title,
              html_url=f"https://github.com/{FULL_NAME}/pull/{number}")
    pr["head"].update(ref=head_ref, sha=head_sha, label=f"kfm-org:{head_ref}")
    pr["base"].update(ref=base_ref, sha=base_sha)
    pr["base"]["repo"].update(full_name=FULL_NAME, default_branch=base_ref)
    head_repo = dict(pr["head"]["repo"])
    head_repo.update(full_name="forker/datasets" if fork else FULL_NAME, fork=fork)
    pr["head"]["repo"] = head_repo
    p["repository"].update(full_name=FULL_NAME, default_branch=base_ref)
    return p


def push_payload(*, before: str, after: str, branch: str = "main",
                 default_branch: str = "main") -> dict[str, Any]:
    """The real push example, adapted: the pushed branch, before/after SHAs, the repository
    name and its default branch."""
    p = json.loads((SHARED_DATA / "webhooks" / "push.json").read_text())
    p.update(ref=f"refs/heads/{branch}", before=before, after=after, created=False)
    p["head_commit"].update(id=after)
    p["repository"].update(full_name=FULL_NAME, default_branch=default_branch,
                           master_branch=default_branch)
    return p
