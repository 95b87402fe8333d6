"""Dataset spec loading and identity: `spec_hash` and `dataset_version_id`.

The identity of a dataset version is a content hash of its spec in RFC 8785 canonical
form, so the same spec written as YAML or JSON, with keys in any order and any
whitespace, gets the same id on every machine, and any semantic change gets a new one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promote_action.errors import InputError
from promote_action.safeload import Document, load_document

SPEC_NAMES = ("spec.yaml", "spec.yml", "spec.json")
SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
VERSION_LABEL_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
VERSION_ID_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}\.[0-9a-f]{12}$")


@dataclass(frozen=True)
class Identity:
    dataset_slug: str
    version_label: str
    spec_hash: str
    dataset_version_id: str

    def to_json(self) -> dict[str, str]:
        return {"dataset_slug": self.dataset_slug, "dataset_version_id": self.dataset_version_id,
                "spec_hash": self.spec_hash}


@dataclass(frozen=True)
class Spec:
    path: Path
    display: str
    doc: Document
    identity: Identity

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data  # type: ignore[no-any-return]


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    import rfc8785

    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise InputError(f"value cannot be canonicalized: {e}") from e


def canonical_digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(value)).hexdigest()


def compute_identity(data: dict[str, Any]) -> Identity:
    spec_hash = canonical_digest(data)
    slug = data.get("dataset_slug")
    label = data.get("version_label")
    if not isinstance(slug, str) or not isinstance(label, str):
        raise InputError("dataset_slug and version_label must be strings")
    return Identity(slug, label, spec_hash, f"{label}.{spec_hash[7:19]}")


def find_spec(path: Path) -> Path:
    """Accept a spec file or a dataset directory holding exactly one spec."""
    if path.is_dir():
        found = [path / n for n in SPEC_NAMES if (path / n).is_file()]
        if not found:
            raise InputError("no spec.yaml or spec.json in dataset directory", file=str(path))
        if len(found) > 1:
            raise InputError("more than one spec file in dataset directory", file=str(path))
        return found[0]
    return path


def load_spec(path: Path, display: str | None = None) -> Spec:
    """Load, schema-check and identify a spec; raise `InputError` (exit 2) on bad input."""
    from promote_action.schemas import require_valid

    path = find_spec(path)
    shown = display or str(path)
    if path.suffix.lower() not in {".yaml", ".yml", ".json"}:
        raise InputError("spec must be .yaml, .yml or .json", file=shown)
    doc = load_document(path, display=shown)
    if not isinstance(doc.data, dict):
        raise InputError("spec must be a mapping at the top level", file=shown, field="/")
    require_valid("spec.schema.json", doc.data, file=shown)
    return Spec(path, shown, doc, compute_identity(doc.data))
