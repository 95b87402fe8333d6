"""Errors of the object-storage layer, mapped to exit codes like every other `Error`.

The split follows what a user can do about each one: a URI or credential they must fix
is bad input (exit 2); bytes that are not the bytes that were judged are a *deny*
(exit 1), because promoting them would publish something nobody reviewed.
"""

from __future__ import annotations

from promote_action.errors import EXIT, Error, InputError


class StoreError(Error):
    """Root of every object-storage error; `uri` is the object (or prefix) concerned."""

    def __init__(self, message: str, *, uri: str | None = None, file: str | None = None,
                 field: str | None = None):
        super().__init__(message, file=file, field=field)
        self.uri = uri


class BadURIError(StoreError, InputError):
    """A malformed or unsupported URI, or an object key that could escape its prefix."""


class StoreAccessError(StoreError):
    """The store could not be read or written: missing credentials, 403, 404, timeouts,
    503 SlowDown after bounded retries. Exit 2: nothing was judged."""


class ObjectChangedError(StoreError):
    """The object is no longer the one that was hashed (ETag, version or bytes differ).

    A deny, not bad input: the run saw two different objects under one name."""

    exit_code = EXIT.DENY
    code = "E.object_changed"


class SizeMismatchError(StoreError):
    """The bytes streamed differ in length from the size the store (or a document)
    announced: a truncated or padded read is never hashed as if it were whole."""

    exit_code = EXIT.DENY
    code = "E.size_mismatch"


class DestinationConflictError(StoreError):
    """A create-only write found other bytes under the destination key (deny)."""

    exit_code = EXIT.DENY
    code = "E.destination_conflict"


class ConditionalPutUnsupportedError(StoreError):
    """The destination store ignored a create-only precondition: refused, never trusted."""


__all__ = ["BadURIError", "ConditionalPutUnsupportedError", "DestinationConflictError",
           "ObjectChangedError", "SizeMismatchError", "StoreAccessError", "StoreError"]
