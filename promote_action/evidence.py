"""Evidence resolver: every EvidenceRef `{uri, digest}` must resolve to bytes with that digest.

A uri is a workspace-relative path, an object URI (`s3://`, `https://`, …: hashed through
the store layer, with the credentials of the environment), or
`kfm://evidence/sha256:<hex>`, a content address: any workspace file whose bytes hash
to it. The capsule records each ref, whether it resolved and, if not, why (`detail`),
and the policy (gate F) denies when there are none or any fails. Other schemes are
unresolved, and a relative path that tries to escape (`..`, absolute, symlink out) is
bad input (exit 2), exactly like every other path a spec names.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from promote_action.digests import Workspace, hash_file, is_sha256_digest
from promote_action.errors import MissingFileError
from promote_action.gates.base import GateContext
from promote_action.remote import is_uri

CONTENT_URI = re.compile(r"^kfm://evidence/(sha256:[0-9a-f]{64})$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SKIP_DIRS = {".git", ".github", "node_modules", "__pycache__"}
MAX_SCAN_FILES = 20000  # a content-addressed lookup never walks an unbounded tree


def resolve_evidence(ctx: GateContext) -> list[dict[str, Any]]:
    """One capsule entry per EvidenceRef in the spec: {uri, digest, resolved, actual, detail}."""
    refs = ctx.spec.get("evidence")
    out: list[dict[str, Any]] = []
    if not isinstance(refs, list):
        return out
    index: ContentIndex | None = None
    for i, ref in enumerate(refs):
        if not isinstance(ref, dict):
            out.append(_entry("", "", None, f"evidence[{i}] is not an object"))
            continue
        uri, want = ref.get("uri"), ref.get("digest")
        uri = uri if isinstance(uri, str) else ""
        want = want if isinstance(want, str) else ""
        if not is_sha256_digest(want):
            out.append(_entry(uri, want, None, "digest is not sha256:<64 hex>"))
            continue
        m = CONTENT_URI.match(uri)
        if m:
            if m.group(1) != want:
                out.append(_entry(uri, want, None, "the uri names a different digest"))
                continue
            index = index or ContentIndex(ctx.workspace)
            found = index.find(want)
            out.append(_entry(uri, want, want if found else None,
                              f"content-addressed as {found}" if found
                              else "no workspace file has this digest"))
            continue
        if is_uri(uri):
            out.append(_object_entry(ctx, i, uri, want))
            continue
        if uri.startswith("kfm://") or _SCHEME.match(uri):
            out.append(_entry(uri, want, None, "unsupported uri (workspace path or "
                              "kfm://evidence/sha256:<hex> only; nothing is fetched)"))
            continue
        try:
            actual = ctx.digest(uri, field=f"/evidence/{i}/uri")
        except MissingFileError:
            out.append(_entry(uri, want, None, "file not found"))
            continue
        out.append(_entry(uri, want, actual, "" if actual == want
                          else f"file hashes to {actual}"))
    return out


def _object_entry(ctx: GateContext, i: int, uri: str, want: str) -> dict[str, Any]:
    """An EvidenceRef naming an object in storage: hashed (and pinned) like artifacts;
    an unreadable object is bad input (exit 2), a changed one is unresolved."""
    obj = ctx.remote.parse(uri, file=ctx.spec_path, field=f"/evidence/{i}/uri")
    ctx.remote.hash([obj])
    fault = ctx.remote.fault(obj.uri)
    if fault is not None:
        return _entry(uri, want, None, fault[1])
    actual = ctx.remote.digest(obj.uri)
    return _entry(uri, want, actual, "" if actual == want else f"object hashes to {actual}")


def _entry(uri: str, want: str, actual: str | None, detail: str) -> dict[str, Any]:
    resolved = actual is not None and actual == want
    return {"uri": uri, "digest": want, "resolved": resolved, "actual": actual,
            "detail": None if resolved else (detail or "unresolved")}


class ContentIndex:
    """Find a workspace file by digest: hashed files first, then a bounded walk.

    The walk does not follow symlinks and skips VCS directories, so a content address can
    only ever resolve to a regular file inside the workspace.
    """

    def __init__(self, ws: Workspace):
        self.ws = ws

    def find(self, digest: str) -> str | None:
        for rel, known in self.ws._cache.items():
            if known == digest:
                return rel
        for rel, path in self._walk():
            if rel in self.ws._cache:
                continue
            actual = hash_file(path)
            self.ws._cache[rel] = actual
            if actual == digest:
                return rel
        return None

    def _walk(self) -> list[tuple[str, Path]]:
        files: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(self.ws.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in sorted(filenames):
                path = Path(dirpath) / name
                try:
                    if not stat.S_ISREG(os.lstat(path).st_mode):
                        continue
                except OSError:
                    continue
                files.append((path.relative_to(self.ws.root).as_posix(), path))
                if len(files) >= MAX_SCAN_FILES:
                    return files
        return files
