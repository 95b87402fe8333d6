"""README "Use it in your repository" → "Auditor's guide", run verbatim against a local
bare "GitHub" remote (only its URL substituted), asserting what the text promises.

The story: a steward creates the signing key (step 2), commits the trust root and creates
the ledger branch (step 3), declares the stewards (step 6, the README's JSON written as
`policy/stewards.json`); the promote job (played here by `kfm-promote promote`, as the
action runs it) records one promotion; an auditor then clones and verifies offline with
kfm-promote, plain git and OpenSSH.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from readme_harness import REPO, Shell, section_blocks, user_env

GITHUB_URL = "https://github.com/your-org/your-datasets"
SLUG = "kansas_river_gauges"


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def make_github(tmp: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """The hosted repository (bare, default branch `main`, one dataset merged) and the
    steward's clone of it."""
    origin = tmp / "github" / "your-datasets.git"
    git(tmp, env, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp / "seed"
    git(tmp, env, "init", "-q", "-b", "main", str(seed))
    shutil.copytree(REPO / "fixtures" / "pass" / SLUG, seed / "datasets" / SLUG)
    git(seed, env, "add", "-A")
    git(seed, env, "commit", "-q", "-m", "Add kansas_river_gauges (#1)")
    git(seed, env, "push", "-q", str(origin), "main")
    steward = tmp / "steward"
    steward.mkdir()
    git(steward, env, "clone", "-q", str(origin), "your-datasets")
    return origin, steward / "your-datasets"


def declare_stewards(work: Path, env: dict[str, str]) -> None:
    """Step 6: the README's JSON, verbatim, as policy/stewards.json on main."""
    [block] = section_blocks("6. Declare the stewards", shell=False)
    assert block.lang == "json"
    stewards = json.loads(block.text)["kfm"]["stewards"]
    assert stewards["github:alice"]["roles"] == ["steward"]
    (work / "policy").mkdir()
    (work / "policy" / "stewards.json").write_text(block.text)
    git(work, env, "add", "policy/stewards.json")
    git(work, env, "commit", "-q", "-m", "policy: declare the stewards")
    git(work, env, "push", "-q", "origin", "main")


def promote_job(work: Path, env: dict[str, str]) -> dict[str, object]:
    """What the action's promote mode runs after the merge, with the secret in the env."""
    from promote_action.spec import load_spec

    version = load_spec(work / "datasets" / SLUG).identity.dataset_version_id
    proc = subprocess.run(
        ["kfm-promote", "promote", "--dataset-slug", SLUG, "--dataset-version-id", version,
         "--spec", f"datasets/{SLUG}", "--policy", "policy", "--remote", "origin",
         "--approver", "principal:github:alice", "--approver-role", "steward",
         "--released-from-commit", "HEAD", "--engine", "embedded", "--format", "json"],
        cwd=work, capture_output=True, text=True, check=False,
        env={**env, "KFM_SIGNING_KEY": (work / "kfm_ledger_key").read_text()})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    assert out["status"] == "recorded"
    return out


def test_use_it_and_audit_it(tmp_path: Path) -> None:
    env = user_env(tmp_path / "home")
    origin, work = make_github(tmp_path, env)
    # `pip install kfm-promote`: the suite runs with kfm-promote installed from this
    # checkout, so that one line is skipped (PyPI is never consulted by the tests).
    assert shutil.which("kfm-promote", path=env["PATH"]), "kfm-promote is not installed"
    sh = Shell(work, env, urls={GITHUB_URL: origin.as_uri()},
               skips={"pip install kfm-promote": "installed from this checkout"})

    # 2. Create the signing key
    sh.run_section("2. Create the signing key")
    assert (work / "kfm_ledger_key").is_file() and (work / "kfm_ledger_key.pub").is_file()

    # 3. Add the trust root, then create the ledger branch
    trust, init = sh.run_section("3. Add the trust root `ledger/allowed_signers`")
    [line] = (work / "ledger" / "allowed_signers").read_text().splitlines()
    assert re.fullmatch(r'kfm-ledger-bot@your-org namespaces="git",valid-after="\d{8}Z" '
                        r"ssh-ed25519 \S+", line), line
    assert "kfm_ledger_key" not in git(work, env, "ls-files"), "the private key was committed"
    assert trust.find("git push origin main").rc == 0
    assert git(origin, env, "show", "main:ledger/allowed_signers").strip() == line
    assert "created" in init.find("ledger init").out
    assert git(origin, env, "rev-list", "--count", "kfm-ledger").strip() == "1"

    declare_stewards(work, env)
    promoted = promote_job(work, env)

    # Auditor's guide: a fresh clone elsewhere, offline checks
    sh.cwd = tmp_path / "auditor"
    sh.cwd.mkdir()
    tools, plain = sh.run_section("Auditor's guide")
    assert tools.find("pip install").skipped
    first = tools.find("| tee verify.txt").out
    assert "ledger OK: 1 entries (1 promotions" in first, first
    checkpoint = re.search(r"^checkpoint: (\d+:sha256:[0-9a-f]{64}:[0-9a-f]{40})$", first,
                           re.M)
    assert checkpoint is not None, first
    assert "ledger OK: 1 entries" in tools.find("--checkpoint").out
    since = tools.find("--since").out  # the state the first verify left in the clone
    assert "ledger OK: 1 entries" in since and "incremental: 0 new entries" in since, since
    log = tools.find("ledger log").out
    assert re.search(rf"^#1 .* promotion +{SLUG} ", log, re.M), log

    commits = plain.find("%G?").out.splitlines()
    assert len(commits) == 2  # the root (auditor README) + the promotion
    assert all(c.split()[1] == "G" for c in commits), commits  # "%G? must be G for all"
    assert plain.find("--merges").out.strip() == "0"  # "must be 0"
    assert 'Good "git" signature' in plain.find("verify-commit").err
    pointer = json.loads(plain.find(f"published/{SLUG}.json").out)
    entry = promoted["entry"]
    assert isinstance(entry, dict)
    assert pointer["manifest_digest"] == entry["manifest_digest"]
    assert SLUG in plain.find("README.md").out
    first_entry = json.loads(plain.find("entries/").out)
    assert first_entry["seq"] == 1 and first_entry == entry, first_entry
