"""Every official extension schema in the shared test data, reviewed into one directory:
documents declaring it are validated offline without crashes, and a field of the wrong
type (the type taken from the schema itself) is a finding at that field."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from stac_schemas_support import EXT, collection, item, needs_shared

from promote_action.catalogs import stac
from promote_action.stac_schemas.fetch import add
from promote_action.stac_schemas.store import SchemaStore

pytestmark = needs_shared
SCHEMAS = sorted(EXT.glob("*/v*/schema.json")) if EXT.is_dir() else []
WRONG: dict[str, Any] = {"string": 12345, "number": "x", "integer": "x", "boolean": "x",
                         "array": "x", "object": "x"}


@functools.cache
def _store(root: Path) -> SchemaStore:
    d = root / "s"
    add(d, [str(p) for p in [*SCHEMAS, *sorted(EXT.glob("_referenced/*/*.json"))]])
    return SchemaStore(d, "s")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SchemaStore:
    return _store(tmp_path_factory.mktemp("ext"))


def typed_fields(schema: Any) -> dict[str, str]:
    """Extension fields ("prefix:name") with a single declared JSON type, in the schema."""
    out: dict[str, str] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if ":" in key and isinstance(sub, dict) and isinstance(sub.get("type"), str):
                    out.setdefault(key, sub["type"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _url(path: Path) -> str:
    return str(json.loads(path.read_text())["$id"]).rstrip("#")


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.parent.name}-{p.parent.name}")
def test_documents_declaring_the_extension_validate_offline(path: Path, store: SchemaStore
                                                            ) -> None:
    url = _url(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pystac's migration notes about old field names
        for doc, kind in ((item(url), "Feature"), (collection(url), "Collection")):
            reasons = stac.validate(doc, "d.json", expect=kind, store=store)
            assert {r.code for r in reasons} <= {"D.stac_extension_invalid"}, reasons


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.parent.name}-{p.parent.name}")
def test_a_field_of_the_wrong_type_is_found(path: Path, store: SchemaStore) -> None:
    fields = typed_fields(json.loads(path.read_text()))
    if not fields:
        pytest.skip("no field with a single declared type (fields defined through $ref)")
    key, kind = sorted(fields.items())[0]
    doc = item(_url(path), **{key: WRONG[kind]})
    doc["assets"]["gauges"][key] = WRONG[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reasons = stac.validate(doc, "d.json", store=store)
    pointers = {r.pointer for r in reasons if r.code == "D.stac_extension_invalid"}
    assert pointers & {f"/properties/{key}", f"/assets/gauges/{key}", "/properties",
                       "/assets/gauges"}, reasons
