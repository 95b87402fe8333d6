"""obstore exceptions -> the product's one-line store errors.

obstore's messages are long, multi-line Rust error chains (request URL, retry count, the
server's XML body). A user needs one line: which URI, and what to do about it. The
chain stays in `__cause__` for debugging.
"""

from __future__ import annotations

import re

from promote_action.store.errors import (
    ObjectChangedError,
    SizeMismatchError,
    StoreAccessError,
    StoreError,
)

_STATUS_RE = re.compile(r"\b([45][0-9]{2}) ([A-Z][A-Za-z ]+?)(?:\)|:|$)", re.MULTILINE)
_CODE_RE = re.compile(r"<Code>([A-Za-z]+)</Code>")
# "timed out", "operation timed out", "Timeout" — but not the `retry_timeout: 4s` field.
_TIMEOUT_RE = re.compile(r"timed out|\btimeout\b(?!:)", re.IGNORECASE)
_RETRIES_RE = re.compile(r"after ([0-9]+) retr", re.IGNORECASE)
_RANGE_RE = re.compile(r"Requested ([0-9]+\.\.[0-9]+), got ([0-9]+\.\.[0-9]+)")


def translate(exc: BaseException, uri: str, *, pinned: bool = False) -> StoreError:
    """The `StoreError` for `exc` raised while reading `uri`.

    `pinned`: the read carried If-Match/version of an earlier hash, so "precondition
    failed" and "not found" mean the object changed or vanished since: a deny."""
    from obstore import exceptions as ox

    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, ox.PreconditionError | ox.NotModifiedError):
        return ObjectChangedError(f"{uri}: the object changed since it was hashed (its ETag "
                                  "or version no longer matches)", uri=uri)
    if isinstance(exc, FileNotFoundError | ox.NotFoundError):
        if pinned:
            # the pinned version is gone: removed, or replaced on a store that pins by
            # version (GCS generations, S3/Azure version ids)
            return ObjectChangedError(f"{uri}: the object was replaced or removed since it "
                                      "was hashed (its pinned version is gone)", uri=uri)
        return StoreAccessError(f"{uri}: object not found (404)", uri=uri)
    if isinstance(exc, ox.PermissionDeniedError):
        return StoreAccessError(f"{uri}: access denied (403); the runner's credentials may "
                                "not read this object", uri=uri)
    if isinstance(exc, ox.UnauthenticatedError):
        return StoreAccessError(f"{uri}: not authenticated (401); check the credentials in "
                                "the environment", uri=uri)
    short = _RANGE_RE.search(str(exc))
    if short:
        return SizeMismatchError(f"{uri}: asked for bytes {short.group(1)}, the store sent "
                                 f"{short.group(2)}; a truncated object is never hashed",
                                 uri=uri)
    return StoreAccessError(f"{uri}: {summarize(str(exc))}", uri=uri)


def summarize(text: str) -> str:
    """One short phrase for a generic obstore error chain."""
    retries = _RETRIES_RE.search(text)
    after = f" after {retries.group(1)} retries" if retries else ""
    status = _STATUS_RE.search(text)
    if status:
        code, name = status.group(1), status.group(2).strip()
        if code == "403":
            return "access denied (403); the runner's credentials may not read this object"
        if code == "404":
            return "object not found (404)"
        if code == "412":
            return "precondition failed (412)"
        s3code = _CODE_RE.search(text)
        label = f" ({s3code.group(1)})" if s3code else ""
        return f"the store answered {code} {name}{label}{after}"
    if "body error" in text or "error decoding response body" in text:
        return f"the object's bytes stopped before its announced size{after}"
    if _TIMEOUT_RE.search(text):
        return f"the store did not answer in time{after}"
    if "credential" in text.lower():
        return "no usable credentials in the environment"
    if "error sending request" in text.lower() or "connect" in text.lower():
        return f"the store could not be reached{after}"
    first = text.strip().splitlines()[0] if text.strip() else type(text).__name__
    return first[:200]


__all__ = ["summarize", "translate"]
