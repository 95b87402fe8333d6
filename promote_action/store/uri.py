"""Object URIs: one parser, one normal form, one set of key-safety rules.

A URI in a spec, a receipt or a catalog is contributor-written and hostile by assumption,
exactly like a workspace path. It is parsed once into an `ObjectURI` whose `uri` text is
the normal form every document must use to name that object (so a DCAT `downloadURL` and
a spec `path` are compared as strings, never "resolved" differently by two readers).

Keys are refused rather than repaired: `..`, `.`, empty segments (`//`), a trailing `/`,
backslashes, control or invisible characters and any percent-encoding (`%2F`, `%2e`, …)
could name a different object once a store, a proxy or a browser decodes them. A URI with
a query, fragment or user-info is refused too: a presigned query or `user:pass@` would let
a spec choose credentials, which only the environment may do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from promote_action.digests import _unicode_trouble
from promote_action.store.errors import BadURIError

SCHEMES = ("s3", "gs", "az", "abfs", "https", "http", "file")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Bucket / container names: the intersection of what S3, GCS and Azure accept.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*"
                      r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::[0-9]{1,5})?$")
_IPV4_RE = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?$")
MAX_KEY_BYTES = 1024  # S3's limit; GCS and Azure allow as much or more
Bad = Callable[[str], BadURIError]


@dataclass(frozen=True)
class ObjectURI:
    """One object in one store. `uri` is the normal form; `scheme` is canonical
    (`abfs` reads as `az`); `container` is the bucket, container or host[:port];
    `key` the object key (for `file`, the absolute path without its leading `/`)."""

    uri: str
    scheme: str
    container: str
    key: str
    account: str | None = None  # Azure storage account when the URI names it

    def child(self, rel: str) -> ObjectURI:
        """The object `rel` below this one (a prefix): validated like every key, so a
        relative path from a document can never climb out of the destination prefix."""
        _check_key(rel, self.uri + "/" + rel, None, None)
        base = self.uri.rstrip("/")
        key = f"{self.key.rstrip('/')}/{rel}" if self.key else rel
        return ObjectURI(f"{base}/{rel}", self.scheme, self.container, key, self.account)

    def __str__(self) -> str:
        return self.uri


def is_uri(text: object) -> bool:
    """True for text that *claims* to be an absolute URI of a scheme this layer knows
    (it may still be refused by `parse_uri`); workspace paths are never URIs."""
    if not isinstance(text, str):
        return False
    m = _SCHEME_RE.match(text)
    return m is not None and m.group(1).lower() in SCHEMES


def parse_uri(text: object, *, file: str | None = None, field: str | None = None,
              allow_http: bool = False, prefix: bool = False) -> ObjectURI:
    """Parse and validate `text`; raise `BadURIError` (exit 2, naming file/field/URI).

    `prefix=True` accepts a URI with an empty key or a trailing `/` (a destination prefix
    such as `s3://lake/processed/`); objects always need a key."""
    if not isinstance(text, str) or not text:
        raise BadURIError("an object URI must be a non-empty string", file=file, field=field)

    def bad(why: str) -> BadURIError:
        return BadURIError(f"unsupported or unsafe URI {text!r}: {why}", uri=text, file=file,
                           field=field)

    if _CONTROL_RE.search(text) or " " in text:
        raise bad("control character or space")
    m = _SCHEME_RE.match(text)
    if not m:
        raise bad("not an absolute URI (scheme://…)")
    scheme = m.group(1).lower()
    if scheme not in SCHEMES:
        raise bad(f"scheme {scheme!r} is not supported (s3, gs, az, abfs, https, file)")
    if scheme == "http" and not allow_http:
        raise bad("plain http is not allowed (use https)")
    if "?" in text or "#" in text:
        raise bad("a query or fragment is not part of an object name (credentials and "
                  "options come from the environment, never from a URI)")
    rest = text[m.end():]
    authority, _, key = rest.partition("/")
    if prefix:
        key = key.rstrip("/")
    elif not key:
        raise bad("no object key")
    if scheme == "file":
        return _file_uri(text, authority, key, bad, file, field)
    container, account = _authority(scheme, authority, bad)
    if key:
        _check_key(key, text, file, field)
    norm_auth = authority.lower() if scheme in ("https", "http") else authority
    norm = f"{scheme}://{norm_auth}/{key}" if key else f"{scheme}://{norm_auth}"
    return ObjectURI(norm, "az" if scheme == "abfs" else scheme, container, key, account)


def _authority(scheme: str, authority: str, fail: Bad) -> tuple[str, str | None]:
    """(container, account) of an authority, or raise what `fail` builds."""
    if "@" in authority and scheme != "abfs":
        raise fail("user-info (user:password@) is not allowed")
    if scheme in ("https", "http"):
        host = authority.lower()
        if not (_HOST_RE.match(host) or _IPV4_RE.match(host)):
            raise fail(f"host {authority!r} is not a valid host name")
        return host, None
    account = None
    name = authority
    if scheme == "abfs" and "@" in authority:
        name, _, host = authority.partition("@")
        if not _HOST_RE.match(host) or not host.endswith(".dfs.core.windows.net"):
            raise fail(f"abfs host {host!r} is not <account>.dfs.core.windows.net")
        account = host.split(".", 1)[0]
    if not _BUCKET_RE.match(name) or ".." in name:
        raise fail(f"bucket or container name {name!r} is not valid")
    return name, account


def _file_uri(text: str, authority: str, key: str, bad: Bad, file: str | None,
              field: str | None) -> ObjectURI:
    if authority not in ("", "localhost"):
        raise bad(f"file URIs name a local path (file:///…), not host {authority!r}")
    if key:
        _check_key(key, text, file, field)
    return ObjectURI(f"file:///{key}" if key else "file://", "file", "", key)


def _check_key(key: str, text: str, file: str | None, field: str | None) -> None:
    """Refuse every spelling of a key that a store, proxy or decoder could read as a
    different object: traversal, empty segments, encoded separators, invisible text."""
    def bad(why: str) -> BadURIError:
        return BadURIError(f"unsafe object key in {text!r}: {why}", uri=text, file=file,
                           field=field)

    if not key:
        raise bad("empty key")
    if "\\" in key:
        raise bad("backslash")
    if "%" in key:
        raise bad("percent-encoding (%2F, %2E, %5C, …) is not allowed; write the key as "
                  "stored")
    if _CONTROL_RE.search(key):
        raise bad("control character")
    if key.startswith("/") or key.endswith("/") or "//" in key:
        raise bad("empty path segment ('//' or a leading/trailing '/')")
    parts = key.split("/")
    if any(p in (".", "..") for p in parts):
        raise bad("'.' or '..' segment")
    if not key.isascii():
        why = _unicode_trouble(tuple(PurePosixPath(key).parts))
        if why:
            raise bad(why)
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise bad(f"key longer than {MAX_KEY_BYTES} bytes")


__all__ = ["SCHEMES", "ObjectURI", "is_uri", "parse_uri"]
