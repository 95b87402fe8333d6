"""Read a schema directory at validation time: lock-checked, lazily, never the network.

Every URL — a `stac_extensions` entry or a `$ref` inside a schema — is resolved through a
`referencing.Registry` whose only retrieval function is this directory: an URL the lock
does not name is unavailable, and a file whose bytes do not hash to its lock entry is
refused (never used "just this once"). Files are read and hashed only when a document
needs them, so a directory holding many extensions costs nothing for items using none.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from promote_action.errors import Error, InputError
from promote_action.safeload import MAX_DOCUMENT_BYTES
from promote_action.stac_schemas.lock import DEFAULT_DIR, Entry, normalize_url, read_lock


class SchemaUnavailable(Error):
    """A schema URL that cannot be used: not in the lock, or its file does not match it.

    A finding for the document that needs the schema, not bad input: gate D turns it
    into a reason naming what to run (`schemas add`) or which file to review."""

    def __init__(self, url: str, message: str, *, file: str | None = None,
                 mismatch: bool = False):
        super().__init__(message, file=file)
        self.url = url
        self.mismatch = mismatch


class SchemaStore:
    """The schemas of one directory (None: no directory, so every extension is missing).

    `display` is how the directory is named in messages and in the `schemas add` command
    a finding suggests (e.g. "schemas/stac", relative to the repository root)."""

    def __init__(self, directory: Path | None, display: str = DEFAULT_DIR):
        self.directory = directory
        self.display = display.rstrip("/") or "."
        self.entries: dict[str, Entry] = (
            read_lock(directory, self.display) if directory is not None else {})
        self._contents: dict[str, Any] = {}
        self._validators: dict[str, Any] = {}

    def add_command(self, url: str) -> str:
        """The exact command a maintainer runs to make `url` available."""
        return f"kfm-promote schemas add --dir {self.display} {url}"

    def contents(self, url: str) -> Any:
        """The parsed schema at `url`, checked against the lock; raises SchemaUnavailable."""
        key = normalize_url(url)
        if key in self._contents:
            return self._contents[key]
        entry = self.entries.get(key)
        if entry is None or self.directory is None:
            raise SchemaUnavailable(key, f"schema {key} is not in {self.display} (offline): "
                                    f"review it and run `{self.add_command(key)}`")
        shown = f"{self.display}/{entry.file}"
        raw = self._read(entry, shown)
        if hashlib.sha256(raw).hexdigest() != entry.sha256:
            raise SchemaUnavailable(key, f"{shown} does not match its lock entry for {key} "
                                    f"(sha256 {entry.sha256[:12]}…): restore the reviewed "
                                    f"file or re-pin it with `kfm-promote schemas sync --dir "
                                    f"{self.display}`", file=shown, mismatch=True)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise SchemaUnavailable(key, f"{shown} is not JSON: {e}", file=shown) from e
        self._contents[key] = data
        return data

    def _read(self, entry: Entry, shown: str) -> bytes:
        assert self.directory is not None
        path = self.directory / entry.file
        root = self.directory.resolve()
        try:
            real = path.resolve(strict=True)
            if not real.is_relative_to(root) or path.is_symlink() or not real.is_file():
                raise SchemaUnavailable(entry.url, f"{shown} is not a regular file inside "
                                        f"{self.display}", file=shown, mismatch=True)
            if real.stat().st_size > MAX_DOCUMENT_BYTES:
                raise SchemaUnavailable(entry.url, f"{shown} is larger than "
                                        f"{MAX_DOCUMENT_BYTES} bytes", file=shown)
            return real.read_bytes()
        except OSError as e:
            raise SchemaUnavailable(entry.url, f"{shown} is missing or unreadable "
                                    f"({e.strerror or e}); its lock entry names it",
                                    file=shown, mismatch=True) from e

    @functools.cached_property
    def registry(self) -> Any:
        """A referencing Registry that retrieves from this directory only."""
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        def retrieve(uri: str) -> Any:
            return Resource.from_contents(self.contents(uri), default_specification=DRAFT7)

        return Registry(retrieve=retrieve)  # type: ignore[call-arg]

    def validator(self, url: str) -> Any:
        """A jsonschema validator for the schema at `url` (its dialect from `$schema`)."""
        from jsonschema import Draft7Validator
        from jsonschema.validators import validator_for

        key = normalize_url(url)
        if key not in self._validators:
            schema = self.contents(key)
            if not isinstance(schema, dict):
                raise SchemaUnavailable(key, f"schema {key} is not a JSON object")
            cls = validator_for(schema, default=Draft7Validator)
            self._validators[key] = cls(schema, registry=self.registry)
        return self._validators[key]


def unavailable_cause(exc: BaseException) -> SchemaUnavailable | None:
    """The SchemaUnavailable behind a referencing/jsonschema resolution error, if any."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, SchemaUnavailable):
            return e
        todo += [e.__cause__, e.__context__, getattr(e, "_wrapped", None)]
    return None


def explicit_store(directory: Path | None, display: str | None = None
                   ) -> SchemaStore | None:
    """The store for a directory the user named (`--schemas`, the action input); None when
    none was named (gate D then uses the repository default). A named directory that is
    missing is bad input (exit 2): a typo must not silently mean "no extensions"."""
    if directory is None:
        return None
    shown = display or directory.as_posix()
    if not directory.is_dir():
        raise InputError("schema directory does not exist", file=shown, field="--schemas")
    return SchemaStore(directory, shown)


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding `.git` (a dir, or a worktree's
    file); None outside a repository."""
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def default_store(workspace_root: Path) -> SchemaStore:
    """`schemas/stac` under the repository root (the workspace itself outside git); a
    missing directory means no extension has been reviewed yet."""
    root = repository_root(workspace_root.resolve()) or workspace_root
    directory = root / DEFAULT_DIR
    return SchemaStore(directory if directory.is_dir() else None, DEFAULT_DIR)
