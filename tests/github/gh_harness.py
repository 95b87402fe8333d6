"""Run `action.yml` the way the runner does, against a real git repo and a fake API.

Parses the composite action, skips the `uses:` setup steps (python and opa are already
on PATH here) and the install step (the project is installed in this interpreter's
environment), and runs every other `run:` step with `bash --noprofile --norc -eo
pipefail FILE`, the step's `env:` expanded from inputs, and the `GITHUB_*` environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
PASS = REPO / "fixtures" / "pass" / "kansas_river_gauges"
SLUG = "kansas_river_gauges"
DS_DIR = f"datasets/{SLUG}"
FULL_NAME = "kfm-org/datasets"
STEWARD = "steward-sam"

_EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


@dataclass
class ActionRun:
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    summary: str
    steps_run: list[str] = field(default_factory=list)


def load_action() -> dict[str, Any]:
    return YAML(typ="safe").load((REPO / "action.yml").read_text())


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


def run_action(inputs: dict[str, str], *, event_name: str, payload: dict[str, Any],
               workspace: Path, api_url: str, tmp: Path, sha: str,
               ref: str = "refs/heads/main", job_env: dict[str, str] | None = None
               ) -> ActionRun:
    """`job_env`: the job's environment as earlier steps left it (e.g. the AWS_*
    variables an OIDC credentials step exports), seen by every step of the action."""
    action = load_action()
    values = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    values.update(inputs)
    run_dir = tmp / f"run{len(list(tmp.glob('run*')))}"
    run_dir.mkdir()
    event_path = run_dir / "event.json"
    event_path.write_text(json.dumps(payload))
    summary = run_dir / "summary.md"
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    opa = shutil.which("opa")
    path = os.pathsep.join(dict.fromkeys(
        [str(Path(sys.executable).parent)] + ([str(Path(opa).parent)] if opa else [])
        + ["/usr/local/bin", "/usr/bin", "/bin"]))
    base_env = {
        "PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "CI": "true",
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path), "GITHUB_REPOSITORY": FULL_NAME,
        "GITHUB_API_URL": api_url, "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_SHA": sha, "GITHUB_REF": ref, "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_RUN_ID": "4242",
        "GITHUB_ACTION_PATH": str(REPO), "RUNNER_TEMP": str(run_dir),
        "KFM_GITHUB_RETRY_BASE": "0.01", "KFM_GITHUB_RETRIES": "3",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
    }
    base_env.update(job_env or {})
    for passthrough in ("PYTHONPATH", "KFM_DEBUG", "COVERAGE_PROCESS_START", "OPA_GO_CACHE"):
        if passthrough in os.environ:
            base_env[passthrough] = os.environ[passthrough]
    ctx = {"inputs": values, "github": {"action_path": str(REPO), "token": "ghs_faketoken"},
           "steps": {}}
    ctx["inputs"]["github-token"] = ctx["inputs"]["github-token"].replace(
        "${{ github.token }}", "ghs_faketoken")
    code, out, err, steps_run = 0, "", "", []
    for i, step in enumerate(action["runs"]["steps"]):
        if "uses" in step or step.get("id") == "install":
            continue
        assert "${{" not in step["run"], "expressions must reach scripts only through env:"
        output_file = run_dir / f"output{i}"
        output_file.touch()
        env = {**base_env, "GITHUB_OUTPUT": str(output_file)}
        env.update({k: _expand(str(v), ctx) for k, v in (step.get("env") or {}).items()})
        script = run_dir / f"step{i}.sh"
        script.write_text(step["run"])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                               str(script)], cwd=workspace, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        steps_run.append(step.get("id", step.get("name", "")))
        out += proc.stdout
        err += proc.stderr
        ctx["steps"][step.get("id", f"s{i}")] = {"outputs": parse_outputs(
            output_file.read_text())}
        if proc.returncode:
            code = proc.returncode
            break
    outputs = {k: _expand(str(v["value"]), ctx) for k, v in action["outputs"].items()}
    return ActionRun(code, out, err, outputs,
                     summary.read_text() if summary.exists() else "", steps_run)


def _expand(value: str, ctx: dict[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        node: Any = ctx
        for part in m[1].split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        return str(node)
    return _EXPR.sub(one, value)


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


def make_repo(tmp: Path, *, local_rego: str = "", allowed_signers: str = "") -> GitRepo:
    origin, work = tmp / "origin.git", tmp / "work"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp, "init", "-q", "-b", "main", str(work))
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
    git(work, "push", "-q", "origin", "main")
    return GitRepo(origin, work)


def add_dataset(repo: GitRepo) -> Path:
    dst = repo.work / DS_DIR
    shutil.copytree(PASS, dst)
    return dst


def pr_payload(action: str, *, number: int, title: str, head_ref: str, head_sha: str,
               base_sha: str, fork: bool = False) -> dict[str, Any]:
    """The real webhook example, adapted to the test repo (shape kept)."""
    src = SHARED_DATA / "webhooks" / f"pull_request.{action}.json"
    p = json.loads(src.read_text())
    p["action"] = action
    p["number"] = number
    pr = p["pull_request"]
    pr.update(number=number, title=title,
              html_url=f"https://github.com/{FULL_NAME}/pull/{number}")
    pr["head"].update(ref=head_ref, sha=head_sha, label=f"kfm-org:{head_ref}")
    pr["base"].update(ref="main", sha=base_sha)
    pr["base"]["repo"].update(full_name=FULL_NAME, default_branch="main")
    head_repo = dict(pr["head"]["repo"])
    head_repo.update(full_name="forker/datasets" if fork else FULL_NAME, fork=fork)
    pr["head"]["repo"] = head_repo
    p["repository"].update(full_name=FULL_NAME, default_branch="main")
    return p


def push_payload(*, before: str, after: str) -> dict[str, Any]:
    p = json.loads((SHARED_DATA / "webhooks" / "push.json").read_text())
    p.update(ref="refs/heads/main", before=before, after=after, created=False)
    p["head_commit"].update(id=after)
    p["repository"].update(full_name=FULL_NAME, default_branch="main", master_branch="main")
    return p
