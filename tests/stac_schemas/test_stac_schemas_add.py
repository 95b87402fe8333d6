"""`kfm-promote schemas add|sync`: local files and a loopback HTTP server (the only
commands allowed to download); digests pinned, `$ref`s followed, http refused by default."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from stac_schemas_support import EXT, PROJ_120, PROJ_SOURCES, needs_shared, serve

from promote_action.stac_schemas.fetch import ALLOW_HTTP_ENV
from promote_action.stac_schemas.lock import LOCK_NAME

pytestmark = needs_shared
STORAGE_2 = "https://stac-extensions.github.io/storage/v2.0.0/schema.json"


def _lock(d: Path) -> dict[str, dict[str, str]]:
    return json.loads((d / LOCK_NAME).read_text())["schemas"]  # type: ignore[no-any-return]


def test_add_local_files_pins_each_by_id(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "schemas" / "stac"
    r = run_cli("schemas", "add", "--dir", d, *PROJ_SOURCES)
    assert r.code == 0, r.err
    lock = _lock(d)
    assert sorted(lock) == ["https://geojson.org/schema/Geometry.json",
                            "https://proj.org/schemas/v0.7/projjson.schema.json", PROJ_120]
    for url, entry in lock.items():
        raw = (d / entry["file"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
        assert f"pinned {url} -> {entry['file']} sha256:{entry['sha256']}" in r.out
    first = (d / LOCK_NAME).read_bytes()
    assert run_cli("schemas", "add", "--dir", d, *PROJ_SOURCES).code == 0
    assert (d / LOCK_NAME).read_bytes() == first  # re-running is a no-op


def test_add_follows_relative_refs_beside_a_local_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "s"
    assert run_cli("schemas", "add", "--dir", d, EXT / "storage/v2.0.0/schema.json").code == 0
    assert sorted(_lock(d)) == [
        f"https://stac-extensions.github.io/storage/v2.0.0/platforms/{n}.json"
        for n in ("aws-s3", "custom-s3", "ms-azure")] + [STORAGE_2]


def test_add_without_id_or_with_unstorable_id_is_bad_input(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "x.json"
    bad.write_text('{"type": "object"}')
    r = run_cli("schemas", "add", "--dir", tmp_path / "s", bad)
    assert r.code == 2 and "has no $id" in r.err and not (tmp_path / "s").exists()
    bad.write_text('{"$id": "https://h.test/../../etc/x.json"}')
    r = run_cli("schemas", "add", "--dir", tmp_path / "s", bad)
    assert r.code == 2 and not (tmp_path / "s").exists()


def test_add_over_http_follows_refs_and_sync_refetches(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_HTTP_ENV, "1")
    d = tmp_path / "schemas" / "stac"
    with serve(EXT) as (base, seen):
        r = run_cli("schemas", "add", "--dir", d, f"{base}/storage/v2.0.0/schema.json",
                    f"{base}/projection/v1.2.0/schema.json",
                    f"{base}/_referenced/proj-v0.7/projjson.schema.json",
                    f"{base}/_referenced/geojson/Geometry.json")
        assert r.code == 0, r.err
        lock = _lock(d)
        assert len(lock) == 7
        # keyed by $id; the URL it came from is kept for `sync`
        assert lock[STORAGE_2]["source"] == f"{base}/storage/v2.0.0/schema.json"
        assert (lock["https://stac-extensions.github.io/storage/v2.0.0/platforms/aws-s3.json"]
                ["source"] == f"{base}/storage/v2.0.0/platforms/aws-s3.json")
        assert "/storage/v2.0.0/platforms/aws-s3.json" in seen
        pinned = (d / LOCK_NAME).read_bytes()
        (d / lock[PROJ_120]["file"]).write_text("{}")  # a local edit sync must undo
        before = len(seen)
        r = run_cli("schemas", "sync", "--dir", d)
        assert r.code == 0, r.err
        assert len(seen) == before + 7
        assert (d / LOCK_NAME).read_bytes() == pinned
        assert (d / lock[PROJ_120]["file"]).read_bytes() == (
            EXT / "projection/v1.2.0/schema.json").read_bytes()


def test_http_is_refused_by_default(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_HTTP_ENV, raising=False)
    with serve(EXT) as (base, seen):
        url = f"{base}/projection/v1.2.0/schema.json"
        r = run_cli("schemas", "add", "--dir", tmp_path / "s", url)
    assert r.code == 2 and url in r.err and "only https://" in r.err
    assert seen == [] and not (tmp_path / "s").exists()


def test_id_differing_from_the_referenced_url_is_refused(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_HTTP_ENV, "1")
    root = tmp_path / "www"
    root.mkdir()
    with serve(root) as (base, _):
        (root / "a.json").write_text(json.dumps({"$id": f"{base}/a.json",
                                                 "$ref": f"{base}/b.json"}))
        (root / "b.json").write_text(json.dumps({"$id": "https://elsewhere.test/b.json"}))
        r = run_cli("schemas", "add", "--dir", tmp_path / "s", f"{base}/a.json")
        assert r.code == 2 and "is not the URL it was referenced as" in r.err
        (root / "b.json").write_text(json.dumps({"$id": f"{base}/b.json",
                                                 "$ref": f"{base}/a.json#/x"}))
        r = run_cli("schemas", "add", "--dir", tmp_path / "s", f"{base}/a.json")
        assert r.code == 0, r.err  # a reference cycle ends: each $id is fetched once
    assert len(_lock(tmp_path / "s")) == 2


def test_add_as_names_the_url_of_a_file_without_id(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = tmp_path / "context.jsonld"
    ctx.write_text('{"@context": {"title": "http://purl.org/dc/terms/title"}}')
    url = "https://example.org/contexts/dcat.jsonld"
    r = run_cli("schemas", "add", "--dir", tmp_path / "s", "--as", url, ctx)
    assert r.code == 0, r.err
    assert _lock(tmp_path / "s")[url]["file"] == "example.org/contexts/dcat.jsonld"
    r = run_cli("schemas", "add", "--dir", tmp_path / "s", "--as", url, ctx, ctx)
    assert r.code == 2 and "--as" in r.err
