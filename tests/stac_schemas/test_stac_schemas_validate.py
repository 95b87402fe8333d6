"""Validation against reviewed extension schemas: offline, lock-checked, with `$ref`s
resolved from the directory only (the official schemas from the shared test data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stac_schemas_support import PROJ_100, PROJ_120, PROJ_SOURCES, collection, item, needs_shared

from promote_action.catalogs import stac
from promote_action.errors import InputError
from promote_action.stac_schemas.fetch import add
from promote_action.stac_schemas.lock import LOCK_NAME
from promote_action.stac_schemas.store import SchemaStore, default_store, explicit_store

pytestmark = needs_shared


@pytest.fixture
def proj_dir(tmp_path: Path) -> Path:
    d = tmp_path / "schemas" / "stac"
    add(d, [str(p) for p in PROJ_SOURCES])
    return d


def _codes(reasons: list[stac.Reason]) -> list[tuple[str, str]]:
    return [(r.code, r.pointer) for r in reasons]


def test_projection_item_passes_offline(proj_dir: Path, no_network: None) -> None:
    store = SchemaStore(proj_dir, "schemas/stac")
    data = item(PROJ_120, **{"proj:code": "EPSG:4326", "proj:bbox": [-96.3, 38.9, -94.9, 39.2],
                             "proj:shape": [10, 20]})
    assert stac.validate(data, "i.json", expect="Feature", store=store) == []


def test_wrong_field_type_is_an_extension_finding(proj_dir: Path, no_network: None) -> None:
    store = SchemaStore(proj_dir, "schemas/stac")
    data = item(PROJ_120, **{"proj:code": 4326, "proj:shape": ["10", 20]})
    reasons = stac.validate(data, "i.json", expect="Feature", store=store)
    assert _codes(reasons) == [("D.stac_extension_invalid", "/properties/proj:code"),
                               ("D.stac_extension_invalid", "/properties/proj:shape/0")]
    assert all(PROJ_120 in r.message for r in reasons)


def test_projjson_is_checked_through_its_ref(proj_dir: Path, no_network: None) -> None:
    store = SchemaStore(proj_dir, "schemas/stac")
    good = json.loads((PROJ_SOURCES[1].parent / "projjson.schema.json").read_text())
    assert good["$id"].endswith("v0.7/projjson.schema.json")
    crs = {"type": "GeographicCRS", "name": "WGS 84",
           "datum": {"type": "GeodeticReferenceFrame", "name": "World Geodetic System 1984",
                     "ellipsoid": {"name": "WGS 84", "semi_major_axis": 6378137,
                                   "inverse_flattening": 298.257223563}},
           "coordinate_system": {"subtype": "ellipsoidal", "axis": [
               {"name": "Latitude", "abbreviation": "lat", "direction": "north",
                "unit": "degree"},
               {"name": "Longitude", "abbreviation": "lon", "direction": "east",
                "unit": "degree"}]}}
    ok = item(PROJ_120, **{"proj:code": None, "proj:projjson": crs})
    assert stac.validate(ok, "i.json", store=store) == []
    bad = item(PROJ_120, **{"proj:code": None, "proj:projjson": {"type": "GeographicCRS"}})
    assert _codes(stac.validate(bad, "i.json", store=store)) == [
        ("D.stac_extension_invalid", "/properties/proj:projjson")]


def test_missing_extension_names_the_command(no_network: None) -> None:
    reasons = stac.validate(item(PROJ_120), "i.json", store=SchemaStore(None, "schemas/stac"))
    assert _codes(reasons) == [("D.stac_extension_unavailable", "/stac_extensions/0")]
    assert f"`kfm-promote schemas add --dir schemas/stac {PROJ_120}`" in reasons[0].message


def test_missing_referenced_schema_names_it(proj_dir: Path, no_network: None) -> None:
    lock = json.loads((proj_dir / LOCK_NAME).read_text())
    del lock["schemas"]["https://proj.org/schemas/v0.7/projjson.schema.json"]
    (proj_dir / LOCK_NAME).write_text(json.dumps(lock))
    store = SchemaStore(proj_dir, "schemas/stac")
    reasons = stac.validate(item(PROJ_120, **{"proj:projjson": {"type": "x"}}), "i.json",
                            store=store)
    assert _codes(reasons) == [("D.stac_extension_unavailable", "/stac_extensions/0")]
    assert "needs https://proj.org/schemas/v0.7/projjson.schema.json" in reasons[0].message


@pytest.mark.parametrize("target", ["projection", "geojson"])
def test_bytes_not_matching_the_lock_are_refused(proj_dir: Path, target: str,
                                                 no_network: None) -> None:
    rel = {"projection": "stac-extensions.github.io/projection/v1.2.0/schema.json",
           "geojson": "geojson.org/schema/Geometry.json"}[target]
    path = proj_dir / rel
    path.write_bytes(path.read_bytes().replace(b'"type"', b'"type" ', 1))
    store = SchemaStore(proj_dir, "schemas/stac")
    geometry = {"type": "Point", "coordinates": [0, 0]}
    reasons = stac.validate(item(PROJ_120, **{"proj:geometry": geometry}), "i.json",
                            store=store)
    assert _codes(reasons) == [("D.stac_schema_mismatch", "/stac_extensions/0")]
    assert f"schemas/stac/{rel} does not match its lock entry" in reasons[0].message


def test_symlinked_schema_outside_the_directory_is_refused(proj_dir: Path,
                                                           tmp_path: Path) -> None:
    rel = proj_dir / "stac-extensions.github.io/projection/v1.2.0/schema.json"
    outside = tmp_path / "outside.json"
    outside.write_bytes(rel.read_bytes())
    rel.unlink()
    rel.symlink_to(outside)
    reasons = stac.validate(item(PROJ_120), "i.json", store=SchemaStore(proj_dir, "d"))
    assert _codes(reasons) == [("D.stac_schema_mismatch", "/stac_extensions/0")]
    assert "not a regular file inside d" in reasons[0].message


def test_extensions_are_checked_on_collections_too(proj_dir: Path) -> None:
    data = collection(PROJ_120)
    data["summaries"] = {"proj:code": ["EPSG:4326"]}
    assert stac.validate(data, "c.json", expect="Collection",
                         store=SchemaStore(proj_dir, "d")) == []


def test_malformed_lock_is_bad_input(tmp_path: Path) -> None:
    d = tmp_path / "s"
    d.mkdir()
    (d / LOCK_NAME).write_text('{"lock_version": 1, "schemas": {"https://x.test/a.json": '
                               '{"file": "../a.json", "sha256": "00"}}}')
    with pytest.raises(InputError) as e:
        SchemaStore(d, "s")
    assert e.value.file == f"s/{LOCK_NAME}"


def test_named_directory_must_exist(tmp_path: Path) -> None:
    assert explicit_store(None) is None
    with pytest.raises(InputError):
        explicit_store(tmp_path / "nope")


def test_default_is_schemas_stac_at_the_repository_root(tmp_path: Path, proj_dir: Path
                                                        ) -> None:
    (tmp_path / ".git").mkdir()
    ds = tmp_path / "data" / "ds"
    ds.mkdir(parents=True)
    store = default_store(ds)
    assert store.directory == proj_dir and store.display == "schemas/stac"
    assert PROJ_120 in store.entries and PROJ_100 not in store.entries
