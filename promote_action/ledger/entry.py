"""Ledger entries: the record, its canonical bytes, its digest, and where it lives.

An entry is the unit of the audit log: one per commit, hash-chained by `prev` (SHA-256 of
the previous entry's RFC 8785 bytes), so the chain does not rest on git's SHA-1 alone.
The file on the branch is a stable pretty rendering of the same JSON; `verify` re-renders
each entry and requires byte equality, so no byte of a stored entry can change silently.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring as _encode_str
from typing import Any

from promote_action.spec import canonical_bytes

ENTRY_VERSION = "v2"  # what `kfm-promote` writes now
ENTRY_VERSIONS = ("v1", "v2")  # what verify reads: each entry says its layout
POINTER_VERSION = "v1"
ENTRY_TYPES = ("promotion", "denied", "quarantine", "quarantine_release")
SHARD_SIZE = 1000
ROOT_README = "README.md"


def entry_path(seq: int) -> str:
    """Sharded so an append rewrites O(1) trees: `entries/<seq // 1000>/<seq>.json`."""
    if seq < 1:
        raise ValueError("entry seq starts at 1")
    return f"entries/{seq // SHARD_SIZE:06d}/{seq:09d}.json"


def seq_from_path(path: str) -> int | None:
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != "entries" or not parts[2].endswith(".json"):
        return None
    stem = parts[2][:-5]
    if not (stem.isdigit() and len(stem) == 9 and parts[1].isdigit() and len(parts[1]) == 6):
        return None
    seq = int(stem)
    return seq if seq >= 1 and entry_path(seq) == path else None


def _simple(value: Any) -> bool:
    """JSON made only of ASCII-keyed objects, arrays, strings, ints, bools and null."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _simple(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_simple(v) for v in value)
    return value is None or isinstance(value, str | bool) or (
        isinstance(value, int) and abs(value) < 2**53)


def entry_canonical_bytes(entry: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of an entry. For the value space entries use (no floats, ASCII keys,
    safe integers) JCS equals sorted-key compact `json.dumps` with UTF-8 output, which is
    ~50x faster than the generic encoder; anything else takes the generic path."""
    if _simple(entry):
        return json.dumps(entry, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
    return canonical_bytes(entry)


def entry_digest(entry: dict[str, Any]) -> str:
    """What the next entry's `prev` must equal (and what a checkpoint names)."""
    return "sha256:" + hashlib.sha256(entry_canonical_bytes(entry)).hexdigest()


def genesis_prev(root_readme: bytes) -> str:
    """`prev` of entry 1: the SHA-256 of the root commit's README, binding the chain to it."""
    return "sha256:" + hashlib.sha256(root_readme).hexdigest()


def render_json(value: Any) -> bytes:
    """The one byte form of every JSON file the ledger stores (sorted keys, 2-space indent)."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


class _NotSimple(Exception):
    pass


def _pretty(value: Any, pad: str) -> str:
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = pad + "  "
        return ("{\n" + ",\n".join([f"{inner}{_encode_str(k)}: {_pretty(value[k], inner)}"
                                     for k in sorted(value)]) + "\n" + pad + "}")
    if kind is list:
        if not value:
            return "[]"
        inner = pad + "  "
        return "[\n" + ",\n".join([inner + _pretty(v, inner) for v in value]) + "\n" + pad + "]"
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    raise _NotSimple  # floats, non-str keys: json's own encoder decides


def render_json_fast(value: Any) -> bytes:
    """`render_json(value)`, byte for byte, ~4x faster for parsed JSON without floats.

    json.dumps uses its pure-Python encoder whenever `indent` is set; `verify` renders
    every entry to check its exact bytes, so this direct renderer (strings still go
    through json's C string encoder) does the same for the value space entries use."""
    try:
        return (_pretty(value, "") + "\n").encode()
    except (_NotSimple, TypeError):
        return render_json(value)


def version_dir(slug: str, version: str) -> str:
    return f"datasets/{slug}/{version}"


def pointer_path(slug: str) -> str:
    return f"published/{slug}.json"


def dataset_readme_path(slug: str) -> str:
    return f"datasets/{slug}/README.md"


def tag_name(slug: str, version: str) -> str:
    return f"kfm/{slug}/{version}"


def build_entry(*, seq: int, prev: str, type_: str, slug: str, version: str,
                fields: dict[str, Any], files: dict[str, str],
                layout: str = ENTRY_VERSION) -> dict[str, Any]:
    """Assemble an entry; `fields` holds the type-specific and identity fields.

    `files` maps every ledger path this commit writes (except the entry itself) to its
    digest, so an auditor can check each stored byte against a signed, chained record.
    """
    if type_ not in ENTRY_TYPES:
        raise ValueError(f"unknown entry type {type_!r}")
    entry: dict[str, Any] = {
        "kfm_ledger_entry_version": layout,
        "seq": seq,
        "prev": prev,
        "type": type_,
        "dataset_slug": slug,
        "dataset_version_id": version,
        "files": dict(sorted(files.items())),
    }
    for key, value in fields.items():
        if key in entry:
            raise ValueError(f"entry field {key!r} is reserved")
        entry[key] = value
    return entry


def idempotency_key(type_: str, slug: str, version: str, subject: str | None,
                    merge_commit: str | None) -> str:
    """Same event, same key: (type, dataset version, manifest digest or decision id,
    merge commit). A re-run that finds its key on the ledger writes nothing."""
    digest = hashlib.sha256(canonical_bytes({
        "type": type_, "dataset_slug": slug, "dataset_version_id": version,
        "subject": subject, "merge_commit": merge_commit,
    })).hexdigest()
    return "sha256:" + digest
