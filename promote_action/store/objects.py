"""Small object operations publishing needs beyond reading: HEAD, a best-effort delete,
and telling "the key already exists" apart from every other failure.

Every failure becomes one `StoreError` naming the URI (`faults.translate`).
"""

from __future__ import annotations

from typing import Any

import obstore
from obstore.exceptions import AlreadyExistsError, NotFoundError, PreconditionError

from promote_action.store.faults import translate


def head(store: Any, key: str, uri: str) -> dict[str, Any] | None:
    """The object's metadata, or None when there is no object under `key`."""
    try:
        return dict(obstore.head(store, key))
    except (NotFoundError, FileNotFoundError):
        return None
    except Exception as e:
        raise translate(e, uri) from e


def delete_quietly(store: Any, key: str) -> None:
    """Best effort, for staging and probe objects only (never a published key)."""
    try:
        obstore.delete(store, key)
    except Exception:  # noqa: BLE001, S110 - cleanup must not hide the real outcome
        pass


def is_exists(e: BaseException) -> bool:
    """A create-only write refused because the key exists (412 or 409 on S3, GCS and
    Azure, EEXIST on the local store)."""
    return isinstance(e, AlreadyExistsError | PreconditionError)


__all__ = ["delete_quietly", "head", "is_exists"]
