"""Workspace-confined, streaming, parallel SHA-256.

Every digest the product records is recomputed from bytes on disk, so hashing is on the
hot path of every gate. Files are read in fixed-size chunks (constant memory whatever the
size) and hashed across a thread pool: hashlib releases the GIL for large updates, so
threads reach OpenSSL's per-core throughput without process start-up costs.

Paths come from contributor-written documents and are hostile by assumption: absolute
paths, `..`, backslashes, NUL, percent-encoded traversal and symlinks that leave the
workspace are refused before any file is opened.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from promote_action.errors import InputError, MissingFileError, UnsafePathError

CHUNK = 1024 * 1024
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_RESERVED = {".git", ".github"}


def is_sha256_digest(value: object) -> bool:
    return isinstance(value, str) and bool(_DIGEST_RE.match(value))


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Workspace:
    """A directory that relative paths are confined to.

    `resolve` is the only way the gates turn a contributor-written path into a file, so
    the confinement rules live in exactly one place.
    """

    def __init__(self, root: Path):
        self.root = root.resolve()
        self._cache: dict[str, str] = {}

    def check_relative(self, rel: str, *, file: str | None = None, field: str | None = None
                       ) -> PurePosixPath:
        """Validate the *spelling* of a relative path, without touching the filesystem."""
        def bad(why: str) -> UnsafePathError:
            return UnsafePathError(f"unsafe path {rel!r}: {why}", file=file, field=field)

        if not isinstance(rel, str) or not rel:
            raise bad("empty")
        if "\x00" in rel:
            raise bad("NUL byte")
        if "\\" in rel:
            raise bad("backslash (use forward slashes)")
        if "%" in rel and re.search(r"%[0-9A-Fa-f]{2}", rel):
            raise bad("percent-encoding is not allowed in workspace paths")
        if rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
            raise bad("absolute path")
        p = PurePosixPath(rel)
        if any(part == ".." for part in p.parts):
            raise bad("'..' segment")
        if p.parts and p.parts[0] in _RESERVED:
            raise bad(f"reserved directory {p.parts[0]}/")
        if any(part.lower() == ".git" for part in p.parts):
            raise bad("reserved directory .git/")
        return p

    def resolve(self, rel: str, *, file: str | None = None, field: str | None = None,
                must_exist: bool = True) -> Path:
        """Return the real path of `rel` inside the workspace, or raise `UnsafePathError`."""
        p = self.check_relative(rel, file=file, field=field)
        current = self.root
        for part in p.parts:
            if part == ".":
                continue
            current = current / part
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                if must_exist:
                    raise MissingFileError(f"referenced file {rel!r} does not exist", file=file,
                                     field=field) from None
                return current
            if stat.S_ISLNK(st.st_mode):
                target = current.resolve()
                if target != self.root and self.root not in target.parents:
                    raise UnsafePathError(f"unsafe path {rel!r}: symlink leaves the workspace",
                                          file=file, field=field)
                current = target
        if must_exist and not current.is_file():
            raise MissingFileError(f"referenced path {rel!r} is not a regular file", file=file,
                             field=field)
        return current

    def digest(self, rel: str, *, file: str | None = None, field: str | None = None) -> str:
        """SHA-256 of a workspace file, computed once per run."""
        key = str(self.check_relative(rel, file=file, field=field))
        if key not in self._cache:
            self._cache[key] = hash_file(self.resolve(rel, file=file, field=field))
        return self._cache[key]

    def digest_many(self, rels: Iterable[str]) -> dict[str, str]:
        """Hash many workspace files in parallel; confinement is checked first, for all."""
        todo = {}
        for rel in rels:
            key = str(self.check_relative(rel))
            if key not in self._cache:
                todo[key] = self.resolve(rel)
        self._cache.update(hash_files(list(todo.values()), keys=list(todo.keys())))
        return {str(self.check_relative(r)): self._cache[str(self.check_relative(r))]
                for r in rels}

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()


def hash_file(path: Path) -> str:
    """Streaming SHA-256 of one file in bounded memory."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return "sha256:" + h.hexdigest()


def hash_files(paths: list[Path], *, keys: list[str] | None = None,
               workers: int | None = None) -> dict[str, str]:
    """Hash files in parallel; result keyed by `keys` (default: the paths as strings)."""
    names = keys if keys is not None else [str(p) for p in paths]
    if not paths:
        return {}
    n = workers or min(32, (os.cpu_count() or 1) * 2)
    if len(paths) == 1 or n == 1:
        return {k: hash_file(p) for k, p in zip(names, paths, strict=True)}
    # Largest first so one big file does not start last and dominate the wall time.
    order = sorted(range(len(paths)), key=lambda i: -_size(paths[i]))
    with ThreadPoolExecutor(max_workers=n) as pool:
        results = dict(zip(order, pool.map(lambda i: hash_file(paths[i]), order), strict=True))
    return {names[i]: results[i] for i in range(len(paths))}


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0
