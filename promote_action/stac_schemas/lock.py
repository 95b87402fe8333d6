"""The lock file of a schema directory: schema URL (`$id`) -> file, SHA-256, source.

The lock is the reviewed statement "these bytes are the schema at this URL"; a file whose
bytes differ from its lock entry is never used. It is written with sorted keys and a
trailing newline so that adding a schema changes exactly the lines a reviewer expects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from promote_action.errors import InputError
from promote_action.safeload import MAX_DOCUMENT_BYTES, load_json_text, read_limited

LOCK_NAME = "schemas.lock.json"
LOCK_VERSION = 1
DEFAULT_DIR = "schemas/stac"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9._~+-]+$")


def normalize_url(url: str) -> str:
    """Schema URLs compare without an empty fragment: many extension schemas declare
    `$id` "…/schema.json#" while STAC documents list "…/schema.json"."""
    return url[:-1] if url.endswith("#") else url


def file_for(url: str) -> str:
    """Where a schema URL is stored inside the directory: host/path, every segment a
    plain name, so a URL can never name a file outside the directory."""
    parts = urlsplit(url)
    segments = [parts.hostname or "", *[s for s in parts.path.split("/") if s]]
    if parts.port:
        segments[0] += f"_{parts.port}"
    if (not parts.hostname or len(segments) < 2 or parts.query
            or any(not _SAFE_PART.match(s) or s in {".", ".."} for s in segments)):
        raise InputError("cannot store a schema under this URL (expected http(s)://host/"
                         "path with plain path segments)", field=url)
    if "." not in segments[-1]:  # ".../schema" or a directory-like URL: still a file
        segments[-1] += ".json"
    return "/".join(segments)


@dataclass(frozen=True)
class Entry:
    url: str  # normalized $id
    file: str  # relative to the directory
    sha256: str  # hex
    source: str | None = None  # where `schemas add` fetched it, when not the URL itself

    def to_json(self) -> dict[str, str]:
        out = {"file": self.file, "sha256": self.sha256}
        if self.source is not None:
            out["source"] = self.source
        return out


def read_lock(directory: Path, display: str) -> dict[str, Entry]:
    """The lock's entries (empty when the directory has no lock yet); malformed ⇒ exit 2."""
    path = directory / LOCK_NAME
    where = f"{display.rstrip('/')}/{LOCK_NAME}"
    if not path.is_file():
        return {}
    raw = read_limited(path, where, MAX_DOCUMENT_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("not UTF-8", file=where) from e
    data = load_json_text(text, where)
    if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION \
            or not isinstance(data.get("schemas"), dict):
        raise InputError(f"expected {{\"lock_version\": {LOCK_VERSION}, \"schemas\": {{…}}}}",
                         file=where)
    out = {}
    for url, rec in data["schemas"].items():
        out[normalize_url(url)] = _entry(url, rec, where)
    return out


def _entry(url: str, rec: Any, where: str) -> Entry:
    field = f"/schemas/{url}"
    if not isinstance(rec, dict) or not isinstance(rec.get("file"), str) \
            or not isinstance(rec.get("sha256"), str) or not _HEX64.match(rec["sha256"]):
        raise InputError("each schema needs \"file\" and a hex \"sha256\"", file=where,
                         field=field)
    if rec["file"] != file_for(normalize_url(url)):
        raise InputError(f"file {rec['file']!r} is not where this URL is stored "
                         f"({file_for(normalize_url(url))})", file=where, field=field)
    source = rec.get("source")
    if source is not None and not isinstance(source, str):
        raise InputError("\"source\" must be a URL string", file=where, field=field)
    return Entry(normalize_url(url), rec["file"], rec["sha256"], source)


def render_lock(entries: dict[str, Entry]) -> str:
    body = {"lock_version": LOCK_VERSION,
            "schemas": {u: entries[u].to_json() for u in sorted(entries)}}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
