"""What a PR or push changed, read from git in the checkout (never from the API).

A dataset dir is a directory holding `spec.yaml`/`spec.yml`/`spec.json`; a change to
any file below it marks that dataset as changed. Policy for a PR is exported from the
*base* commit into a temp dir, so a PR can never weaken the policy that judges it.
"""

from __future__ import annotations

import fnmatch
import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from promote_action.errors import InputError
from promote_action.spec import SPEC_NAMES

TRUST_FILES = ("ledger/allowed_signers", "ledger/revoked_signers")
ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class ChangeSet:
    files: tuple[str, ...]
    datasets: tuple[str, ...]      # repo-relative dataset dirs that exist at head
    removed_datasets: tuple[str, ...]
    policy_files: tuple[str, ...]  # changed files under the policy dir
    trust_files: tuple[str, ...]   # changed trust-root files (allowed signers...)


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    """Run git with argv (no shell); failures become a one-line InputError."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, input=input,
                          check=False)
    if proc.returncode != 0:
        err = " ".join(proc.stderr.decode(errors="replace").split())[:300]
        raise InputError(f"git {args[0]} failed: {err}", file=str(repo))
    return proc.stdout


def ensure_commit(repo: Path, sha: str) -> None:
    """Make sure a commit is present (a shallow checkout may lack the base)."""
    probe = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{sha}^{{commit}}"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        git(repo, "fetch", "--no-tags", "--quiet", "origin", sha)


def changed_files(repo: Path, base: str, head: str) -> list[str]:
    """Files changed from the merge base of base..head to head (what the PR adds)."""
    if base == ZERO_SHA:
        out = git(repo, "ls-tree", "-r", "-z", "--name-only", head)
    else:
        ensure_commit(repo, base)
        ensure_commit(repo, head)
        out = git(repo, "diff", "--name-only", "-z", "--no-renames", f"{base}...{head}")
    return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})


def _spec_dirs(repo: Path, ref: str) -> set[str]:
    out = git(repo, "ls-tree", "-r", "-z", "--name-only", ref)
    dirs = set()
    for p in out.decode("utf-8", "surrogateescape").split("\0"):
        pp = PurePosixPath(p)
        if pp.name in SPEC_NAMES:
            dirs.add(pp.parent.as_posix())
    return dirs


def discover(repo: Path, base: str, head: str, *, policy_dir: str = "policy",
             pattern: str | None = None) -> ChangeSet:
    files = changed_files(repo, base, head)
    at_head = _spec_dirs(repo, head)
    at_base = _spec_dirs(repo, base) if base != ZERO_SHA else set()
    # The policy dir itself may hold spec-like test fixtures: never treat it as data.
    candidates = {d for d in at_head | at_base if not _under(d, policy_dir)}
    touched = {d for f in files if (d := _nearest(f, candidates)) is not None}
    if pattern:
        chosen = {d for d in at_head if fnmatch.fnmatch(d, pattern)}
    else:
        chosen = touched
    removed = (at_base - at_head) & touched
    return ChangeSet(
        files=tuple(files),
        datasets=tuple(sorted(chosen & at_head)),
        removed_datasets=tuple(sorted(removed)),
        policy_files=tuple(f for f in files if _under(f, policy_dir)),
        trust_files=tuple(f for f in files if f in TRUST_FILES),
    )


def _nearest(path: str, dirs: set[str]) -> str | None:
    """The deepest dataset dir containing path (nested datasets belong to themselves)."""
    best = None
    for d in dirs:
        if _under(path, d) and (best is None or len(d) > len(best)):
            best = d
    return best


def _under(path: str, directory: str) -> bool:
    return directory in ("", ".") or path == directory or path.startswith(directory + "/")


def export_dir(repo: Path, ref: str, subdir: str, dest: Path) -> Path | None:
    """Extract `ref:subdir` into dest (None if the ref has no such dir).

    `git archive` + tarfile's "data" filter: no absolute paths, links out or devices.
    """
    listing = git(repo, "ls-tree", "-d", "--name-only", ref, "--", subdir).decode().strip()
    if not listing:
        return None
    raw = git(repo, "archive", "--format=tar", ref, "--", subdir)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        _extract(tar, dest, f"{ref[:12]}:{subdir}")
    out = dest / subdir
    if not out.is_dir():
        raise InputError(f"{subdir} at {ref[:12]} is not a directory", file=str(repo))
    return out


def _extract(tar: tarfile.TarFile, dest: Path, origin: str) -> None:
    """Extraction filters exist from Python 3.11.4 on; before that (e.g. Debian's 3.11.2)
    extract only plain files and directories that stay under dest, and refuse the rest
    rather than extract it unchecked."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    members = tar.getmembers()
    for m in members:
        name = PurePosixPath(m.name)
        if name.is_absolute() or ".." in name.parts or not (m.isfile() or m.isdir()):
            raise InputError(f"{m.name} is not a plain file or directory; refusing to "
                             "export it", file=origin)
    tar.extractall(dest, members=members)  # noqa: S202 - every member checked above
