"""Real promoter processes against a real bare origin: datasets, clones, hooks, kills."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from promote_harness import (
    REPO_ROOT,
    clone,
    git,
    load_fixture_builder,
    make_key,
    make_origin,
    promote_argv,
)


@cache
def _builder() -> Any:
    return load_fixture_builder()


def dataset(root: Path, slug: str, label: str) -> tuple[Path, str]:
    """A passing dataset `slug` with version label `label` (a distinct version id)."""
    from promote_action.spec import load_spec

    out = root / label / slug
    if not out.exists():
        _builder().base_dataset(slug=slug, label=label).write(out)
    return out, load_spec(out).identity.dataset_version_id


@dataclass
class Site:
    """A bare origin, a trusted key, and one clone per promoter (as CI runners have)."""

    root: Path
    origin: Path
    key: Path
    allowed: Path
    clones: dict[int, Path] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path) -> Site:
        key, allowed, _ = make_key(root / "keys")
        return cls(root, make_origin(root / "origin.git"), key, allowed)

    def clone_for(self, i: int) -> Path:
        if i not in self.clones:
            self.clones[i] = clone(self.origin, self.root / "clones" / f"p{i:02d}")
        return self.clones[i]

    def argv(self, i: int, ds: Path, version: str, *extra: str) -> list[str]:
        return promote_argv(ds, version, self.clone_for(i), self.key, "--remote", "origin",
                            *extra)

    def hook(self, name: str, script: str) -> None:
        path = self.origin / "hooks" / name
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)

    def refs(self, repo: Path | None = None) -> str:
        return git("-C", str(repo or self.origin), "for-each-ref").stdout


@dataclass
class Job:
    """One promoter process; `kill_at` (seconds after start) SIGKILLs its process group."""

    key: tuple[str, str]  # (slug, version)
    argv: list[str]
    who: int = 0  # the promoter (its clone: a clone is one runner, used by one process)
    kill_at: float | None = None
    proc: subprocess.Popen[str] | None = None
    started: float = 0.0
    killed: bool = False
    code: int | None = None
    out: str = ""
    err: str = ""

    @property
    def succeeded(self) -> bool:
        return self.code == 0 and "recorded" in self.out


def run_jobs(jobs: list[Job], timeout: float = 240) -> None:
    """Start every job at once, kill the doomed ones at their time, collect the rest."""
    for j in jobs:
        j.proc = subprocess.Popen(j.argv, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
        j.started = time.monotonic()
    deadline = time.monotonic() + timeout
    pending = [j for j in jobs if j.kill_at is not None]
    while pending and time.monotonic() < deadline:
        now = time.monotonic()
        for j in list(pending):
            assert j.proc is not None
            if j.proc.poll() is not None:
                pending.remove(j)
            elif now - j.started >= (j.kill_at or 0):
                try:
                    os.killpg(j.proc.pid, signal.SIGKILL)  # the promoter and its git children
                    j.killed = True
                except ProcessLookupError:
                    pass
                pending.remove(j)
        time.sleep(0.01)
    for j in jobs:
        assert j.proc is not None
        j.out, j.err = j.proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        j.code = j.proc.returncode
        if j.killed and j.code != -signal.SIGKILL:
            j.killed = False  # finished before the signal landed: judge it on its output


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("kfm-promote: error: "), err
    return lines[0]
