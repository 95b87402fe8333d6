"""Checks of one entry that need no repository state: its bytes are the one canonical
rendering, its fields are well-formed, the paths it writes are allowed, and (on a
failure) what the commit changed beyond it. Split from `checks.py`, which reads the
objects these judge.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from typing import Any

import pygit2

from promote_action.ledger.entry import (
    ENTRY_TYPES,
    ENTRY_VERSIONS,
    entry_digest,
    is_bucket,
    render_json_fast,
)
from promote_action.ledger.policy_paths import Listed, expand


class Bad(Exception):
    """First failure found; the caller attaches the seq and commit for the report."""


def commit_at(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Commit:
    obj = repo.get(oid)
    if not isinstance(obj, pygit2.Commit):
        raise Bad(f"{oid} is not a commit")
    return obj


def parse_entry(raw: bytes, epath: str) -> tuple[dict[str, Any], str]:
    """(entry, its chain digest); the file must be the one stable rendering.

    The digest takes the C-encoder fast path when the value space allows it (ASCII
    bytes, so ASCII keys; no floats; safe integers), which the parse hooks detect."""
    slow = []

    def on_float(text: str) -> float:
        slow.append(text)
        return float(text)

    def on_int(text: str) -> int:
        value = int(text)
        if abs(value) >= 2**53:
            slow.append(text)
        return value

    try:
        entry = json.loads(raw, parse_float=on_float, parse_int=on_int)
    except ValueError:
        raise Bad(f"{epath} is not JSON") from None
    if not isinstance(entry, dict) or render_json_fast(entry) != raw:
        raise Bad(f"{epath} is not in the ledger's canonical form (edited?)")
    if slow or not raw.isascii():
        return entry, entry_digest(entry)
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return entry, "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def own_records(entry: dict[str, Any], vdir: str) -> tuple[str, str]:
    """(the version's `denied/` folder, the part of it this entry may write): a denied
    attempt writes only under `denied/<its seq>/`, any other entry never under `denied/`,
    so records there are never rewritten (see `verify_state.mutable_in_version`).
    `vdir`: the version's folder."""
    base = vdir + "/denied/"
    return base, (f"{base}{entry['seq']:09d}/" if entry["type"] == "denied" else "\0")


class DestinationChecker:
    """`allowed_for` with the patterns expanded once per entry. `folder`: the version's
    folder on the ledger (`policy_paths.Listed` maps it to the listed one)."""

    def __init__(self, patterns: list[str], slug: str, version: str,
                 folder: str | None = None):
        self.exact: set[str] = set()
        prefixes = []
        for pattern in patterns:
            want = expand(pattern, slug, version)
            (prefixes.append(want) if want.endswith("/") else self.exact.add(want))
        self.prefixes = tuple(prefixes)
        self.listed = Listed(slug, version, folder)

    def __call__(self, path: str) -> bool:
        if path.startswith("/") or "//" in path or ".." in path.split("/"):
            return False
        listed = self.listed(path)
        if listed is None:
            return False
        if listed in self.exact:
            return True
        return listed.startswith(self.prefixes) and not listed.endswith("/")

    def folder_allowed(self, path: str) -> bool:
        """Every file below `path` is allowed: the folder lies under an allowed prefix."""
        listed = self.listed(path + "/x")
        return self(path + "/x") and listed is not None and \
            listed[:-1].startswith(self.prefixes)


def check_entry_fields(entry: dict[str, Any], seq: int, fingerprint: str) -> None:
    if entry.get("kfm_ledger_entry_version") not in ENTRY_VERSIONS:
        raise Bad("entry has an unknown kfm_ledger_entry_version")
    if entry.get("seq") != seq:
        raise Bad(f"entry seq is {entry.get('seq')!r}, expected {seq} (gap or reorder)")
    if not isinstance(entry.get("prev"), str):
        raise Bad("entry prev is missing")
    if entry.get("type") not in ENTRY_TYPES:
        raise Bad(f"entry type {entry.get('type')!r} is unknown")
    if entry.get("signer") != fingerprint:
        raise Bad("entry names a signer other than the key that signed the commit")
    if not isinstance(entry.get("files"), dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in entry["files"].items()):
        raise Bad("entry files must map paths to digests")
    for k in ("dataset_slug", "dataset_version_id"):
        if not isinstance(entry.get(k), str) or "/" in entry[k] or entry[k] in ("", ".", ".."):
            raise Bad(f"entry {k} is malformed")
    if is_bucket(entry["dataset_version_id"]):  # would read as a v3 hash folder
        raise Bad("entry dataset_version_id is malformed (a hash folder's name)")


def explain_tree_difference(parent: pygit2.Commit, commit: pygit2.Commit,
                            listed: set[str], folders: Collection[str] = ()) -> str:
    """Slow path, failures only: name what the commit changes beyond its entry."""
    diff = parent.tree.diff_to_tree(commit.tree, pygit2.enums.DiffOption.SKIP_BINARY_CHECK)
    for delta in diff.deltas:
        if delta.status_char() not in ("A", "M"):
            return f"commit deletes or renames {delta.old_file.path}"
    extra = sorted(d.new_file.path for d in diff.deltas if d.new_file.path not in listed
                   and not any(d.new_file.path.startswith(f + "/") for f in folders))
    if not extra:
        modes = sorted(d.new_file.path for d in diff.deltas
                       if d.new_file.mode != pygit2.enums.FileMode.BLOB)
        return f"commit writes files that are not regular files ({modes[:3]})"
    return f"commit changes files its entry does not list ({extra[:3]})"
