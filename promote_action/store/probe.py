"""Does the destination really honour create-only writes? Ask it, don't assume it.

Some S3-compatible stores (older MinIO and Ceph releases, many gateways and proxies)
accept `If-None-Match: *` and then overwrite anyway. Publishing to such a store would
make "immutable" a promise nobody keeps, so before the first copy the publisher writes
a probe object create-only, writes *other* bytes to the same key create-only (which
must be refused), and — when large objects will be moved by a server-side create-only
copy — copies over the probe with `overwrite=False` (which must be refused too). The
probe lives in the staging area below the publish root and is deleted afterwards. A
store that lets either second write through is refused (`ConditionalPutUnsupportedError`),
and so is one that cannot express the precondition at all.
"""

from __future__ import annotations

import secrets
from typing import Any

import obstore

from promote_action.store.errors import ConditionalPutUnsupportedError, StoreError
from promote_action.store.faults import translate
from promote_action.store.objects import delete_quietly, head, is_exists
from promote_action.store.uri import ObjectURI

FIRST = b"kfm-promote conditional-put probe: original\n"
SECOND = b"kfm-promote conditional-put probe: must never replace the original\n"


class _Occupied(Exception):
    """The probe key holds an object that could not be cleared."""


def probe_create_only(store: Any, area: ObjectURI, *, copies: bool) -> None:
    """Raise `ConditionalPutUnsupportedError` unless create-only puts (and, with
    `copies`, create-only copies) are enforced by the store under `area`.

    The probe keys are fixed per staging area (one per dataset version), so what a
    killed run left is found and cleared here instead of lingering under a random name;
    if a leftover cannot be cleared (a store that refuses the delete), a fresh random
    key is probed instead."""
    for name in ("probe", f"probe-{secrets.token_hex(8)}"):
        try:
            _probe(store, area.child(name), area.child(f"{name}-src"), copies)
            return
        except _Occupied:
            continue
    raise _refused(area, "no probe key could be written create-only")


def _probe(store: Any, probe: ObjectURI, other: ObjectURI, copies: bool) -> None:
    delete_quietly(store, probe.key)
    delete_quietly(store, other.key)
    try:
        _put_create(store, probe, FIRST, occupied=True)
        try:
            obstore.put(store, probe.key, SECOND, mode="create")
        except Exception as e:
            if not is_exists(e):
                raise _refused(probe, f"the second create-only put failed with {e!r}") from e
        else:
            raise _refused(probe, "a second create-only put (If-None-Match: *) replaced "
                                  "the object")
        if copies:
            _put_create(store, other, SECOND)
            try:
                obstore.copy(store, other.key, probe.key, overwrite=False)
            except Exception as e:
                if not is_exists(e):
                    raise _refused(probe, "create-only copy is not available (for S3 set "
                                          "AWS_COPY_IF_NOT_EXISTS=multipart)") from e
            else:
                raise _refused(probe, "a create-only copy replaced the object")
        if (head(store, probe.key, probe.uri) or {}).get("size") != len(FIRST):
            raise _refused(probe, "the probe object was replaced despite the refusal")
    finally:
        delete_quietly(store, probe.key)
        delete_quietly(store, other.key)


def _put_create(store: Any, obj: ObjectURI, data: bytes, *, occupied: bool = False) -> None:
    try:
        obstore.put(store, obj.key, data, mode="create")
    except Exception as e:
        if occupied and is_exists(e):
            raise _Occupied(obj.uri) from e
        if isinstance(e, NotImplementedError) or "not implemented" in str(e).lower() \
                or "not supported" in str(e).lower():
            raise _refused(obj, "the store does not support create-only puts") from e
        raise translate(e, obj.uri) from e


def _refused(obj: ObjectURI, why: str) -> StoreError:
    return ConditionalPutUnsupportedError(
        f"{obj.uri}: destination ignores conditional writes ({why}); refusing to publish "
        "to a store that cannot guarantee create-only objects", uri=obj.uri)


__all__ = ["probe_create_only"]
