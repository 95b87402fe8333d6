"""Run README.md's shell blocks as a user would, and know which section each came from.

`readme_blocks()` extracts every fenced block with its language and the heading it sits
under. Every ```sh / ```bash block is a command a user copies, so each section holding
one must have a scenario in `SCENARIOS` (checked by test_readme_coverage.py); synopsis
blocks that are not meant to be copied use ```text.

`Shell.run_section(title)` runs ALL the shell blocks of a section, verbatim, in one bash
process per block (`set -eo pipefail`, the working directory carried from block to
block), with only URLs substituted. A line may be skipped only with a stated reason
(`skips`), and the skip is reported in the step. Each logical command (continuation
lines joined) becomes a `Step` with its own stdout/stderr, so a scenario can assert what
the text around it promises ("%G? must be G for all").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SHELL_LANGS = {"sh", "bash", "shell", "console"}

# section heading -> the test that runs all its shell blocks ("file.py::test_name")
SCENARIOS = {
    "Quick start": "test_readme_dev.py::test_quick_start",
    "2. Create the signing key": "test_readme_use_it.py::test_use_it_and_audit_it",
    "3. Add the trust root `ledger/allowed_signers`":
        "test_readme_use_it.py::test_use_it_and_audit_it",
    "Auditor's guide": "test_readme_use_it.py::test_use_it_and_audit_it",
    "Development": "test_readme_dev.py::test_development",
    "Allow the publish prefix": "test_readme_object_storage.py::test_object_storage_section",
    "STAC extensions: `schemas add`": "test_readme_stac_schemas.py::"
                                      "test_stac_extensions_schemas_add",
}

_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MARK = "@@KFM-DOCS-STEP"


@dataclass(frozen=True)
class Block:
    section: str  # the innermost heading above the block
    lang: str
    text: str
    line: int  # 1-based line of the opening fence

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL_LANGS


def readme_blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of README.md, in order, with its section."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    out: list[Block] = []
    section = ""
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            h = _HEADING.match(lines[i])
            if h:
                section = h.group(2)
            i += 1
            continue
        fence, start = m.group(2), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        out.append(Block(section, m.group(3).lower(), "\n".join(body) + "\n", start + 1))
        i += 1
    return out


def section_blocks(title: str, *, shell: bool = True) -> list[Block]:
    found = [b for b in readme_blocks() if b.section == title and b.is_shell == shell]
    assert found, f"README.md has no {'shell' if shell else 'non-shell'} block under {title!r}"
    return found


def commands(block_text: str) -> list[str]:
    """Logical commands: continuation lines joined, blank and comment-only lines dropped."""
    out: list[str] = []
    pending = ""
    for line in block_text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line + "\n"
        if not line.rstrip().endswith("\\"):
            out.append(pending.rstrip("\n"))
            pending = ""
    if pending:
        out.append(pending.rstrip("\n"))
    return out


@dataclass
class Step:
    command: str
    out: str = ""
    err: str = ""
    rc: int | None = None  # None: not run (skipped, or an earlier command failed)
    skipped: str | None = None


@dataclass
class Steps:
    section: str
    steps: list[Step]

    def find(self, needle: str) -> Step:
        hits = [s for s in self.steps if needle in s.command]
        assert len(hits) == 1, f"{len(hits)} commands contain {needle!r} in {self.section}"
        return hits[0]


@dataclass
class Shell:
    """A user's terminal: a working directory, an environment, URL substitutions."""

    cwd: Path
    env: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)
    skips: dict[str, str] = field(default_factory=dict)  # command prefix -> why
    timeout: float = 300

    def run_section(self, title: str) -> list[Steps]:
        return [self.run_block(b) for b in section_blocks(title)]

    def run_block(self, block: Block) -> Steps:
        steps: list[Step] = []
        script = ["set -eo pipefail"]
        for n, cmd in enumerate(commands(block.text)):
            why = next((w for p, w in self.skips.items() if cmd.startswith(p)), None)
            steps.append(Step(cmd, skipped=why))
            if why is None:
                for url, local in self.urls.items():
                    cmd = cmd.replace(url, local)
                script += [f"printf '\\n{_MARK} {n}\\n'; printf '\\n{_MARK} {n}\\n' >&2", cmd]
        script.append(f"printf '\\n{_MARK} end %s\\n' \"$PWD\"")
        proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=self.timeout,
                              check=False)
        outs, errs = _split(proc.stdout), _split(proc.stderr)
        for n, step in enumerate(steps):
            if str(n) in outs:
                step.out, step.err, step.rc = outs[str(n)], errs.get(str(n), ""), 0
        ran = [s for s in steps if s.rc is not None]
        if proc.returncode != 0:
            where = ran[-1] if ran else None
            raise AssertionError(
                f"README.md line {block.line} ({block.section}): "
                f"{where.command if where else 'the block'} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        end = outs.get("end", "").strip()
        if end:
            self.cwd = Path(end)
        return Steps(block.section, steps)


def _split(text: str) -> dict[str, str]:
    """Output per step, keyed by step number ("end" carries the final working dir)."""
    parts: dict[str, str] = {}
    key = None
    for line in text.splitlines(keepends=True):
        if line.startswith(_MARK + " "):
            rest = line[len(_MARK) + 1:].rstrip("\n")
            key, _, value = rest.partition(" ")
            parts[key] = value + "\n" if key == "end" else ""
            continue
        if key is not None and key != "end":
            parts[key] += line
    return {k: v.strip("\n") + ("\n" if v.strip("\n") else "") for k, v in parts.items()}


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: private HOME and git config, this interpreter's scripts
    (`kfm-promote`) first on PATH, fixed git times so every run is the same."""
    home.mkdir(parents=True, exist_ok=True)
    bindir = str(Path(sys.executable).parent)
    env = {"HOME": str(home), "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
           "LC_ALL": "C", "TZ": "UTC", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Dana Steward",
           "GIT_AUTHOR_EMAIL": "dana@example.org", "GIT_COMMITTER_NAME": "Dana Steward",
           "GIT_COMMITTER_EMAIL": "dana@example.org",
           "GIT_AUTHOR_DATE": "2026-03-01T12:00:00Z",
           "GIT_COMMITTER_DATE": "2026-03-01T12:00:00Z"}
    for name in ("OPA_GO_CACHE", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env
