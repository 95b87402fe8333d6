"""Real-process helpers shared by tests/tamper and tests/reliability.

Everything goes through real git repositories and the real CLI in a subprocess (exit codes,
stderr, no traceback), so these suites see what an operator or an auditor would see.
Keys, repos and datasets come from tests/ledger/ledgerlib.py (reused, not duplicated).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "ledger"))
from ledgerlib import (
    REPO_ROOT,
    allowed_for,
    clone,
    git_repo,
    load_fixture_builder,
    make_dataset,
    make_key,
)

__all__ = ["POLICY", "REPO_ROOT", "clone", "git_repo", "load_fixture_builder", "make_dataset",
           "make_key"]

POLICY = REPO_ROOT / "fixtures" / "policy"
REF = "refs/heads/kfm-ledger"
RELEASED_AT = "2026-02-20T13:00:00Z"


def git(*args: str, cwd: Path | None = None, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True,
                          text=True, env=full_env)


def make_origin(path: Path) -> Path:
    """A bare 'origin' with a `main` branch, as a hosted repository would be."""
    origin = git_repo(path, bare=True)
    seed = git_repo(path.parent / f"{path.name}.seed")
    git("-C", str(seed), "push", "-q", str(origin), "HEAD:refs/heads/main")
    git("-C", str(origin), "symbolic-ref", "HEAD", "refs/heads/main")
    return origin


def kfm_argv(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "promote_action", *map(str, args)]


def promote_argv(ds: Path, version: str, repo: Path, key: Path, *extra: str | Path,
                 policy: Path = POLICY) -> list[str]:
    return kfm_argv("promote", "--dataset-slug", ds.name, "--dataset-version-id", version,
                    "--spec", ds, "--repo", repo, "--released-at", RELEASED_AT,
                    "--policy", policy, "--approver", "principal:github:kfm-steward",
                    "--approver-role", "steward", "--signing-key", key,
                    "--allowed-signers", allowed_for(key),
                    "--engine", "embedded", *extra)


def run(argv: list[str], timeout: float = 180, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False, **kw)


def verify_json(repo: Path, allowed: Path, *extra: str | Path) -> tuple[int, dict[str, Any]]:
    """`kfm-promote verify --format json` as a subprocess: (exit code, parsed report)."""
    p = run(kfm_argv("verify", "--repo", repo, "--allowed-signers", allowed,
                     "--format", "json", *extra))
    assert "Traceback" not in p.stderr, p.stderr
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"verify printed no JSON (exit {p.returncode}): "
                             f"{p.stdout}{p.stderr}") from None


def git_verify_commit(repo: Path, allowed: Path, rev: str, revoked: Path | None = None
                      ) -> subprocess.CompletedProcess[str]:
    """Plain git, no kfm code: the auditor's independent signature check."""
    cfg = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}"]
    if revoked is not None:
        cfg += ["-c", f"gpg.ssh.revocationFile={revoked}"]
    return git("-C", str(repo), *cfg, "verify-commit", rev, check=False)


def first_parent_chain(repo: Path, ref: str = REF) -> list[str]:
    """Commit ids from the root to the tip (first parents only)."""
    out = git("-C", str(repo), "rev-list", "--first-parent", "--reverse", ref).stdout
    return out.split()


def entries(repo: Path, ref: str = REF) -> list[dict[str, Any]]:
    """Every entry file in the tip's tree, in seq order."""
    names = git("-C", str(repo), "ls-tree", "-r", "--name-only", ref, "entries/").stdout
    return [json.loads(git("-C", str(repo), "show", f"{ref}:{n}").stdout)
            for n in sorted(names.split())]


def assert_chain_whole(repo: Path, ref: str = REF) -> list[dict[str, Any]]:
    """seq is 1..n without gaps or duplicates, one commit per entry, and no idempotency
    key appears twice (nothing duplicated)."""
    es = entries(repo, ref)
    assert [e["seq"] for e in es] == list(range(1, len(es) + 1))
    assert len(first_parent_chain(repo, ref)) == len(es) + 1  # + the root commit
    keys = [e["idempotency_key"] for e in es]
    assert len(keys) == len(set(keys)), "duplicate idempotency key on the ledger"
    promos = [(e["dataset_slug"], e["dataset_version_id"]) for e in es
              if e["type"] == "promotion"]
    assert len(promos) == len(set(promos)), "a version is promoted twice"
    return es
