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
import threading
import unicodedata
from collections import deque
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from promote_action.errors import MissingFileError, UnsafePathError

CHUNK = 1024 * 1024
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_RESERVED = {".git", ".github"}


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# `file:`, `https:`, `C:`: a scheme or drive is never part of a workspace path.
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Unicode categories that are invisible or undefined in a file name (bidi overrides such
# as U+202E, zero-width joiners, C1 controls, line separators, private use, unassigned).
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _unicode_trouble(parts: tuple[str, ...]) -> str | None:
    """Why a non-ASCII path is unsafe: invisible characters, or a segment that a
    normalizing consumer (NFKC) would read as `.`, `..` or a separator (`．．`, `／`)."""
    for part in parts:
        if part.isascii():
            continue
        for ch in part:
            if unicodedata.category(ch) in _INVISIBLE:
                return f"invisible or control character U+{ord(ch):04X}"
        folded = unicodedata.normalize("NFKC", part)
        if folded in {".", ".."} or "/" in folded or "\\" in folded:
            return f"segment {part!r} reads as {folded!r} after Unicode normalization"
    return None


def _reserved_name(part: str, name: str) -> bool:
    """`.git`, as case-insensitive or normalizing filesystems also spell it: `.GIT`,
    `.git.` / `.git ` (Windows trims), `.git::$INDEX_ALLOCATION` (NTFS streams), `GIT~1`
    (8.3 short name), fullwidth `．ｇｉｔ`."""
    low = part.lower()
    if low == name:
        return True
    if not part.isascii():
        low = unicodedata.normalize("NFKC", part).casefold()
    low = low.split(":", 1)[0].rstrip(". ")
    return low == name or low == name.lstrip(".")[:6] + "~1"


def collision_key(rel: str) -> str:
    """The name a case-insensitive, normalization-insensitive filesystem (macOS, Windows)
    gives `rel`: two spellings with one key are one file there."""
    text = str(PurePosixPath(rel))
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def find_collisions(rels: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs (first, later) of paths spelled differently that collide by `collision_key`
    (`processed/A.csv` vs `processed/a.csv`, NFC vs NFD `é`), in input order."""
    seen: dict[str, str] = {}
    out = []
    for rel in rels:
        key = collision_key(rel)
        first = seen.setdefault(key, rel)
        if str(PurePosixPath(first)) != str(PurePosixPath(rel)):
            out.append((first, rel))
    return out


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
        if _CONTROL_RE.search(rel):
            raise bad("control character")
        if _SCHEME_RE.match(rel):
            raise bad("URL or drive prefix, not a workspace path")
        p = PurePosixPath(rel)
        if any(part == ".." for part in p.parts):
            raise bad("'..' segment")
        if not rel.isascii():
            why = _unicode_trouble(p.parts)
            if why:
                raise bad(why)
        if p.parts and _reserved_name(p.parts[0], ".github"):
            raise bad(f"reserved directory {p.parts[0]}/")
        if any(_reserved_name(part, ".git") for part in p.parts):
            raise bad("reserved directory .git/")
        if any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in p.parts):
            raise bad("path component longer than 255 bytes")
        return p

    def resolve(self, rel: str, *, file: str | None = None, field: str | None = None,
                must_exist: bool = True) -> Path:
        """Return the real path of `rel` inside the workspace, or raise `UnsafePathError`."""
        p = self.check_relative(rel, file=file, field=field)
        return Path(self._resolve_checked(p, rel, file, field, must_exist)[0])

    def _resolve_checked(self, p: PurePosixPath, rel: str, file: str | None, field: str | None,
                         must_exist: bool) -> tuple[str, int]:
        """Walk `p` one component at a time (so every symlink on the way is judged, not
        only the last), on plain strings: this runs once per file on the hashing path.
        Returns the real path and the file size (-1 when it does not exist)."""
        root = str(self.root)
        current = root
        st = None
        for part in p.parts:
            if part == ".":
                continue
            current = os.path.join(current, part)
            try:
                st = os.lstat(current)
            except (FileNotFoundError, NotADirectoryError):
                if must_exist:
                    raise MissingFileError(f"referenced file {rel!r} does not exist", file=file,
                                           field=field) from None
                return current, -1
            except OSError as e:  # ENAMETOOLONG, ELOOP, EACCES: refuse, never crash
                raise UnsafePathError(f"unsafe path {rel!r}: {e.strerror}", file=file,
                                      field=field) from None
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(current)
                if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
                    raise UnsafePathError(f"unsafe path {rel!r}: symlink leaves the workspace",
                                          file=file, field=field)
                if any(_reserved_name(x, ".git") for x in target[len(root):].split(os.sep)):
                    raise UnsafePathError(f"unsafe path {rel!r}: symlink into .git/",
                                          file=file, field=field)
                current = target
                try:
                    st = os.stat(current)
                except OSError:
                    st = None
        if must_exist and (st is None or not stat.S_ISREG(st.st_mode)):
            raise MissingFileError(f"referenced path {rel!r} is not a regular file", file=file,
                                   field=field)
        return current, (st.st_size if st is not None else -1)

    def digest(self, rel: str, *, file: str | None = None, field: str | None = None) -> str:
        """SHA-256 of a workspace file, computed once per run."""
        key = str(self.check_relative(rel, file=file, field=field))
        if key not in self._cache:
            self._cache[key] = hash_file(self.resolve(rel, file=file, field=field))
        return self._cache[key]

    def digest_many(self, rels: Iterable[str]) -> dict[str, str]:
        """Hash many workspace files in parallel; confinement is checked first, for all."""
        keys: dict[str, str] = {}
        todo: dict[str, tuple[str, int]] = {}
        for rel in rels:
            p = self.check_relative(rel)
            key = keys[rel] = str(p)
            if key not in self._cache and key not in todo:
                todo[key] = self._resolve_checked(p, rel, None, None, True)
        names = list(todo)
        paths = [todo[k][0] for k in names]
        sizes = [todo[k][1] for k in names]
        self._cache.update(zip(names, _hash_all(paths, sizes, None), strict=True))
        return {keys[r]: self._cache[keys[r]] for r in keys}

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()


_local = threading.local()


def _buffer() -> tuple[bytearray, memoryview]:
    """One read buffer per thread, reused across files: allocating (and zeroing) a fresh
    megabyte per file costs more than hashing a small file."""
    pair = getattr(_local, "pair", None)
    if pair is None:
        buf = bytearray(CHUNK)
        pair = _local.pair = (buf, memoryview(buf))
    return pair  # type: ignore[no-any-return]


def hash_file(path: Path | str) -> str:
    """Streaming SHA-256 of one file in bounded memory (one CHUNK per thread)."""
    buf, view = _buffer()
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        n = fh.readinto(buf)
        if n == CHUNK and _FADVISE is not None:  # big file: ask for aggressive read-ahead
            _FADVISE(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while n:
            # hashlib releases the GIL for updates this large, so threads hash in parallel.
            h.update(view[:n])
            n = fh.readinto(buf)
    return "sha256:" + h.hexdigest()


def hash_files(paths: list[Path], *, keys: list[str] | None = None,
               workers: int | None = None) -> dict[str, str]:
    """Hash files in parallel; result keyed by `keys` (default: the paths as strings)."""
    names = keys if keys is not None else [str(p) for p in paths]
    if len(names) != len(paths):
        raise ValueError("hash_files: keys and paths differ in length")
    if not paths:
        return {}
    sizes = [_size(p) for p in paths] if len(paths) > 1 else [0]
    return dict(zip(names, _hash_all(list(paths), sizes, workers), strict=True))


def _hash_all(paths: list[Path] | list[str], sizes: list[int], workers: int | None
              ) -> list[str]:
    """Digests in input order. Workers pull from one shared queue, largest file first, so
    a big file never starts last and per-file scheduling costs no future/executor overhead.
    The first failure in *input* order is raised, so errors are deterministic."""
    n = min(workers or (os.cpu_count() or 1), len(paths), 32)
    if n <= 1:
        return [hash_file(p) for p in paths]
    queue = deque(sorted(range(len(paths)), key=lambda i: -sizes[i]))
    results: list[str] = [""] * len(paths)
    errors: dict[int, OSError] = {}

    def work() -> None:
        while True:
            try:
                i = queue.popleft()
            except IndexError:
                return
            try:
                results[i] = hash_file(paths[i])
            except OSError as e:
                errors[i] = e

    threads = [threading.Thread(target=work, name=f"kfm-hash-{k}", daemon=True)
               for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[min(errors)]
    return results


def _size(p: Path) -> int:
    try:
        return os.stat(p).st_size
    except OSError:
        return 0


_FADVISE = getattr(os, "posix_fadvise", None)
