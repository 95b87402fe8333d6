"""Locate the files that ship with the tool: policy, schemas, templates, ledger docs.

A wheel carries them under `promote_action/_data/`; a source checkout (editable install,
tests, the composite action running from `github.action_path`) has them at the repo root.
Looking in both places keeps one copy of each file in the repository.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parent


@functools.cache
def data_root(kind: str) -> Path:
    """Return the directory for `kind` (``policy``, ``schemas``, ``templates``, ``ledger``)."""
    for candidate in (_PKG / "_data" / kind, _PKG.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"kfm-promote installation is missing its {kind}/ directory")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """Load a bundled JSON Schema by file name (trusted, so the plain json loader is fine)."""
    path = data_root("schemas") / name
    with path.open("rb") as fh:
        return json.load(fh)  # type: ignore[no-any-return]
