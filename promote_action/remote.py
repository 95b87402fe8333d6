"""Objects in storage that one validation run names, hashed once and pinned.

Spec artifacts, receipt inputs/outputs, catalog links and evidence may name an object by
URI instead of a workspace path. Every such object is hashed through the store layer
(in parallel, streaming) at most once per run, and every document that names it is
compared with that one pin — so "the same URI" means the same bytes everywhere in the
report, and the pin (size, ETag, version) is what publishing must find again.

Outcomes split like everything else in the product: an object that cannot be read at all
(missing credentials, 403, 404, throttling, timeouts) is unjudgeable input and raises
(exit 2); an object that changed while it was read, or whose length lies, is a finding
(`E.object_changed`, `E.size_mismatch`) that denies.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from promote_action.store import (
    ObjectChangedError,
    ObjectPin,
    ObjectURI,
    SizeMismatchError,
    StoreError,
    StoreSettings,
    hash_objects_detailed,
    is_uri,
    parse_uri,
)
from promote_action.store.client import confine_file

__all__ = ["RemoteObjects", "is_uri"]


@dataclass
class RemoteObjects:
    """Pins and faults of every object URI this run has hashed."""

    settings: StoreSettings | None = None
    pins: dict[str, ObjectPin] = field(default_factory=dict)
    faults: dict[str, StoreError] = field(default_factory=dict)

    def store_settings(self) -> StoreSettings:
        """Settings from the process environment unless the caller gave some: the only
        place credentials and endpoints may come from."""
        if self.settings is None:
            self.settings = StoreSettings.from_env(os.environ)
        return self.settings

    def parse(self, text: str, *, file: str | None = None, field: str | None = None
              ) -> ObjectURI:
        """Parse an object URI (plain http only with the explicit opt-in); exit 2 when
        it is malformed, unsupported or unsafe."""
        settings = self.store_settings()
        obj = parse_uri(text, file=file, field=field, allow_http=settings.allow_http)
        if obj.scheme == "file":
            confine_file(obj, settings, file=file, field=field)
        return obj

    def normalize(self, text: str) -> str | None:
        """The normal form of `text` when it is a valid object URI, else None (no
        error: for comparisons in documents where a bad URI is a finding)."""
        if not is_uri(text):
            return None
        try:
            return self.parse(text).uri
        except StoreError:
            return None

    def hash(self, uris: Iterable[ObjectURI]) -> None:
        """Hash every object not hashed yet, in parallel. Access failures raise the first
        one in input order (exit 2); changed or truncated objects become faults."""
        todo = [u for u in uris if u.uri not in self.pins and u.uri not in self.faults]
        if not todo:
            return
        results = hash_objects_detailed(todo, self.store_settings())
        first: StoreError | None = None
        for uri, value in results.items():
            if isinstance(value, ObjectPin):
                self.pins[uri] = value
            elif isinstance(value, ObjectChangedError | SizeMismatchError):
                self.faults[uri] = value
            elif first is None:
                first = value
        if first is not None:
            raise first

    def digest(self, uri: str) -> str | None:
        pin = self.pins.get(uri)
        return pin.digest if pin is not None else None

    def fault(self, uri: str) -> tuple[str, str] | None:
        """(reason code, message) when the object could not be hashed consistently."""
        err = self.faults.get(uri)
        if err is None:
            return None
        return getattr(err, "code", "E.object_changed"), err.message

    def describe(self, uri: str) -> dict[str, Any] | None:
        """What the capsule and the report say about one object (None: not pinned)."""
        pin = self.pins.get(uri)
        return pin.to_json() if pin is not None else None
