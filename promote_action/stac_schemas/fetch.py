"""`schemas add` / `schemas sync`: the only code in the product that downloads anything.

A maintainer runs them to bring a STAC extension schema (and everything it `$ref`s, such
as PROJJSON for projection v1.x) under review: each schema is stored under its `$id`, its
SHA-256 is pinned in the lock, and the resulting diff is what stewards review. Downloads
are HTTPS only (plain HTTP only to a loopback host, and only when
`KFM_SCHEMAS_ALLOW_HTTP_LOOPBACK=1`, for tests and local mirrors), bounded in size and
count, and a schema whose `$id` is not the URL it was fetched for is refused.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from promote_action.errors import InputError
from promote_action.safeload import MAX_DOCUMENT_BYTES, load_json_text, read_limited
from promote_action.stac_schemas.lock import (
    LOCK_NAME,
    Entry,
    file_for,
    normalize_url,
    read_lock,
    render_lock,
)

MAX_SCHEMAS = 64  # per command: a $ref chain longer than this is not a schema, it is a trap
TIMEOUT = 30.0
ALLOW_HTTP_ENV = "KFM_SCHEMAS_ALLOW_HTTP_LOOPBACK"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Fetched:
    url: str  # normalized $id: the key in the lock
    raw: bytes
    origin: str  # a URL or a local path: where relative $refs are looked up
    source: str | None  # a URL to record for `sync` when it is not `url` itself
    data: Any


def is_url(value: str) -> bool:
    return urlsplit(value).scheme in ("http", "https")


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if (parts.scheme == "http" and parts.hostname in _LOOPBACK
            and os.environ.get(ALLOW_HTTP_ENV) == "1"):
        return
    raise InputError("only https:// schema URLs are fetched (plain http only to a loopback "
                     f"host with {ALLOW_HTTP_ENV}=1)", field=url)


class _Redirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        check_url(newurl)  # a redirect must not downgrade to http or leave for file:
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str) -> bytes:
    check_url(url)
    opener = urllib.request.build_opener(_Redirects)
    try:
        with opener.open(url, timeout=TIMEOUT) as resp:
            raw: bytes = resp.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as e:
        raise InputError(f"cannot fetch: {getattr(e, 'reason', None) or e}", field=url) from e
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InputError(f"larger than {MAX_DOCUMENT_BYTES} bytes", field=url)
    return raw


def _load(origin: str, expect: str | None) -> Fetched:
    """Read one schema from a URL or a local file; `expect`: the URL a $ref named."""
    if is_url(origin):
        raw = download(origin)
    else:
        raw = read_limited(Path(origin), origin, MAX_DOCUMENT_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("schema is not UTF-8", file=origin) from e
    data = load_json_text(text, origin)
    sid = data.get("$id") if isinstance(data, dict) else None
    if not isinstance(data, dict):
        raise InputError("a JSON Schema must be a JSON object", file=origin)
    if isinstance(sid, str) and sid:
        url = normalize_url(sid)
    elif expect is not None or is_url(origin):
        url = normalize_url(expect or origin)
    else:
        raise InputError("schema has no $id, so it cannot be keyed by URL", file=origin)
    if expect is not None and url != normalize_url(expect):
        raise InputError(f"$id {sid!r} is not the URL it was referenced as ({expect})",
                         file=origin)
    if not is_url(url):
        raise InputError(f"$id {sid!r} is not an http(s) URL", file=origin)
    file_for(url)  # refuse URLs that cannot be stored safely, before writing anything
    source = origin if is_url(origin) and normalize_url(origin) != url else None
    return Fetched(url, raw, origin, source, data)


def refs(data: Any) -> Iterator[str]:
    """Every `$ref` string in a schema (fragment-only refs included; callers filter)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                yield ref
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _targets(doc: Fetched) -> Iterator[tuple[str, str]]:
    """(URL a $ref names, where to load it from) for each ref outside `doc` itself: a
    relative ref is looked up beside where the schema came from (a mirror or a local
    checkout keeps upstream's layout), an absolute one at its URL."""
    for ref in refs(doc.data):
        target = normalize_url(urldefrag(urljoin(doc.url, ref))[0])
        if not target or target == doc.url:
            continue
        if urlsplit(ref).scheme:
            yield target, target
        elif is_url(doc.origin):
            yield target, urldefrag(urljoin(doc.origin, ref))[0]
        else:
            yield target, str(Path(doc.origin).parent / urldefrag(ref)[0])


def collect(sources: list[str], known: dict[str, Entry], as_url: str | None = None
            ) -> dict[str, Fetched]:
    """The sources and, transitively, every schema they reference that neither the
    sources nor the lock already provide."""
    staged: dict[str, Fetched] = {}
    for src in sources:
        doc = _load(src, as_url)
        staged[doc.url] = doc
    todo = list(staged.values())
    while todo:
        doc = todo.pop()
        for target, where in _targets(doc):
            if target in staged or target in known:
                continue
            if len(staged) >= MAX_SCHEMAS:
                raise InputError(f"more than {MAX_SCHEMAS} schemas referenced", field=doc.url)
            staged[target] = _load(where, target)
            todo.append(staged[target])
    return staged


def add(directory: Path, sources: list[str], *, refetch: bool = False,
        as_url: str | None = None) -> list[Entry]:
    """Store `sources` (URLs or files) and what they reference; returns the entries written.

    Nothing is written until every schema was loaded and checked, and the lock is written
    last, so an interrupted run leaves at most unreferenced files, never a lock naming a
    file that is not there."""
    display = directory.as_posix()
    known = read_lock(directory, display)
    staged = collect(sources, {} if refetch else known, as_url)
    return _store(directory, known, staged)


def sync(directory: Path) -> list[Entry]:
    """Re-fetch every schema the lock names (from its recorded source, else its URL)."""
    display = directory.as_posix()
    known = read_lock(directory, display)
    if not known:
        raise InputError(f"no schemas to sync (no {LOCK_NAME} or it is empty)", file=display)
    staged = {}
    for url, entry in sorted(known.items()):
        doc = _load(entry.source or url, url)
        staged[url] = Fetched(url, doc.raw, doc.origin, entry.source, doc.data)
    return _store(directory, known, staged)


def _store(directory: Path, known: dict[str, Entry], staged: dict[str, Fetched]
           ) -> list[Entry]:
    """Write every fetched schema, then the lock naming all of them: the lock is written
    last, so a failure part-way leaves the old lock (and its digests) in charge."""
    written = []
    for url in sorted(staged):
        doc = staged[url]
        entry = Entry(url, file_for(url), hashlib.sha256(doc.raw).hexdigest(),
                      doc.source or (known[url].source if url in known else None))
        _write(directory / entry.file, doc.raw)
        known[url] = entry
        written.append(entry)
    _write(directory / LOCK_NAME, render_lock(known).encode())
    return written


def _write(path: Path, raw: bytes) -> None:
    from promote_action.cli.common import write_atomic

    write_atomic(path, raw)
