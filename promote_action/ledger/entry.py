"""Ledger entries: the record, its canonical bytes, its digest, and where it lives.

An entry is the unit of the audit log: one per commit, hash-chained by `prev` (SHA-256 of
the previous entry's RFC 8785 bytes), so the chain does not rest on git's SHA-1 alone.
The file on the branch is a stable pretty rendering of the same JSON; `verify` re-renders
each entry and requires byte equality, so no byte of a stored entry can change silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from json.encoder import encode_basestring as _encode_str
from typing import Any

from promote_action.spec import canonical_bytes

ENTRY_VERSION = "v3"  # what `kfm-promote` writes now
ENTRY_VERSIONS = ("v1", "v2", "v3")  # what verify reads: each entry says its layout
FANNED = ("v3",)  # layouts whose entries and new version folders are fanned out
POINTER_VERSION = "v1"
ENTRY_TYPES = ("promotion", "denied", "quarantine", "quarantine_release")
SHARD_SIZE = 1000
ROOT_README = "README.md"


def entry_path(seq: int, layout: str = ENTRY_VERSION) -> str:
    """Where entry `seq` of layout `layout` lives. v1/v2: `entries/<seq // 1000>/<seq>.json`
    (a shard grows to 1,000 names, 41 KB, rewritten by every append); v3 splits the
    9-digit seq 3/2/2 into `entries/AAA/BB/CC/AAABBCCDD.json`, so no folder an append
    rewrites holds more than 100 names below seq 10^8 (the top one grows by one per
    million entries) and an append costs the same at entry 100,000 as at entry 100."""
    if seq < 1:
        raise ValueError("entry seq starts at 1")
    if seq >= 10**9:
        raise ValueError("entry seq has at most 9 digits")
    name = f"{seq:09d}"
    if layout in FANNED:
        return f"entries/{name[:3]}/{name[3:5]}/{name[5:7]}/{name}.json"
    return f"entries/{seq // SHARD_SIZE:06d}/{name}.json"


def entry_paths(seq: int) -> tuple[str, str]:
    """(v3 path, v1/v2 path) of entry `seq`: where a reader looks, newest layout first."""
    return entry_path(seq, ENTRY_VERSION), entry_path(seq, "v2")


def seq_from_path(path: str) -> int | None:
    """The seq of an entry file path of any layout (None: not an entry path)."""
    stem = path.rpartition("/")[2]
    if not path.startswith("entries/") or not stem.endswith(".json"):
        return None
    stem = stem[:-5]
    if not (stem.isdigit() and len(stem) == 9) or int(stem) < 1:
        return None
    seq = int(stem)
    return seq if path in entry_paths(seq) else None


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


_HASH_SUFFIX = re.compile(r"\.([0-9a-f]{12})\Z")


def version_bucket(version: str) -> str | None:
    """A version's hash folders in layout v3, `<h1>/<h2>`: the first and second hex digit
    of the 12-hex content hash that ends every dataset version id (None: the id has
    none). Two levels of 16: a dataset with 1,000 versions has folders of 17, 16 and
    about 4 names on a version's path instead of one of 1,000."""
    m = _HASH_SUFFIX.search(version)
    return f"{m[1][0]}/{m[1][1]}" if m else None


def legacy_version_dir(slug: str, version: str) -> str:
    """A version's folder in layouts v1/v2: one folder per version in the dataset's."""
    return f"datasets/{slug}/{version}"


def fanned_version_dir(slug: str, version: str) -> str | None:
    """A version's folder in layout v3 (None: its id has no hash suffix)."""
    bucket = version_bucket(version)
    return f"datasets/{slug}/{bucket}/{version}" if bucket else None


def version_dir(slug: str, version: str, layout: str = ENTRY_VERSION) -> str:
    """Where a *new* version's folder goes in `layout`. v3 fans versions out into 16 x 16
    hash folders (`datasets/<slug>/<h1>/<h2>/<version>`), so the folders an append
    rewrites stay small however many versions a dataset has. A version keeps the folder
    its first event created: see `locate_version`."""
    if layout not in FANNED:
        return legacy_version_dir(slug, version)
    fanned = fanned_version_dir(slug, version)
    if fanned is None:
        raise ValueError(f"dataset version id {version!r} has no 12-hex content-hash suffix")
    return fanned


def locate_version(has_events: Callable[[str], bool], slug: str, version: str,
                   layout: str = ENTRY_VERSION) -> str:
    """The folder of (slug, version) for an entry of `layout`, given which `events.json`
    files exist (every entry writes its version's, so a version folder exists exactly
    when its `events.json` does): a version recorded under v1/v2 keeps its folder when
    v3 entries add events to it; otherwise a v3 entry uses the hash folders."""
    legacy = legacy_version_dir(slug, version)
    if layout not in FANNED or has_events(f"{legacy}/events.json"):
        return legacy
    return version_dir(slug, version, layout)


def find_version_dir(has_events: Callable[[str], bool], slug: str, version: str
                     ) -> str | None:
    """For readers: the folder of a recorded version (the one holding its `events.json`,
    of either layout), or None when the version is not on the ledger."""
    fanned = fanned_version_dir(slug, version)
    for folder in (legacy_version_dir(slug, version), *([fanned] if fanned else [])):
        if has_events(f"{folder}/events.json"):
            return folder
    return None


def is_bucket(name: str) -> bool:
    """A v3 hash folder name (one lowercase hex digit); no version id is that short."""
    return len(name) == 1 and name in "0123456789abcdef"


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
