"""Every gate D reason code, each triggered by one realistic break of a sealed dataset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from gate_d_support import COLLECTION, DCAT, ITEM, PROV, codes, edit_json, make, run

ZERO = "sha256:" + "0" * 64


def _post(tmp_path: Path, fn: Any) -> list[str]:
    res, _ = run(make(tmp_path, post=fn))
    return codes(res)


def _spec(tmp_path: Path, fn: Any) -> list[str]:
    res, _ = run(make(tmp_path, mutate=fn))
    return codes(res)


def test_dcat_missing_from_spec_and_from_disk(tmp_path: Path) -> None:
    def drop(ds: Any) -> None:
        del ds.spec["catalogs"]  # the spec schema requires dcat+prov once catalogs is given

    assert _spec(tmp_path / "a", drop) == ["D.dcat_missing", "D.prov_missing",
                                           "D.stac_missing"]
    ds = make(tmp_path / "b")
    (ds / DCAT).unlink()
    res, _ = run(ds)
    # the PROV dataset entity still names catalog/dcat.jsonld, which is now gone
    assert codes(res) == ["D.dcat_missing", "D.link_broken"]
    assert [r.pointer for r in res.reasons if r.code == "D.dcat_missing"] == ["/catalogs/dcat"]


def test_dcat_invalid_reports_every_problem_with_pointers(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        doc = d.docs[DCAT]
        del doc["dct:title"]
        doc["dcat:distribution"][0]["spdx:checksum"]["spdx:checksumValue"] = "XYZ"
        doc["@context"]["dct"] = "http://example.org/not-dc/"

    res, _ = run(make(tmp_path, post=edit))
    invalid = {r.pointer: r.message for r in res.reasons if r.code == "D.dcat_invalid"}
    # "dct" now names another vocabulary: the graph has no dct:title, dct:identifier …
    # (missing properties point at the dataset node; a wrong value at the value itself)
    assert {"", "/dcat:distribution/0/spdx:checksum/spdx:checksumValue"} <= set(invalid)
    assert "path dct:title" in " ".join(invalid.values())
    assert "focus kfm://dataset/kansas_river_gauges/" in invalid[""]
    assert all(r.path == DCAT for r in res.reasons if r.code == "D.dcat_invalid")


def test_prov_missing_and_invalid(tmp_path: Path) -> None:
    ds = make(tmp_path / "a")
    (ds / PROV).unlink()
    res, _ = run(ds)
    # DCAT's kfm:prov and the STAC via link now point at nothing as well
    assert codes(res) == ["D.link_broken", "D.prov_missing"]

    def edit(d: Any) -> None:
        d.docs[PROV]["wasGenratedBy"] = d.docs[PROV].pop("wasGeneratedBy")  # misspelt

    res, _ = run(make(tmp_path / "b", post=edit))
    msgs = [r.message for r in res.reasons if r.code == "D.prov_invalid"]
    assert any(m.startswith("not PROV-JSON") and "wasGenratedBy" in m for m in msgs)
    assert "D.artifact_not_in_prov" in codes(res)


def test_stac_invalid_and_missing(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[ITEM]["bbox"] = "everywhere"
        del d.docs[COLLECTION]["extent"]

    res, _ = run(make(tmp_path / "a", post=edit))
    assert codes(res) == ["D.stac_invalid"]
    assert {(r.path, r.pointer) for r in res.reasons} >= {(ITEM, "/bbox"), (COLLECTION, "")}

    def no_stac(ds: Any) -> None:
        del ds.spec["catalogs"]["stac_collection"]
        del ds.spec["catalogs"]["stac_items"]

    # a spatial artifact without STAC fails (the builder drops DCAT's kfm:stac too)
    res, _ = run(make(tmp_path / "b", mutate=no_stac))
    assert [(r.code, r.pointer) for r in res.reasons] == [("D.stac_missing", "/catalogs")]
    assert "processed/gauges.geojson" in res.reasons[0].message


def test_stac_optional_without_spatial_artifacts(tmp_path: Path) -> None:
    def flat(ds: Any) -> None:
        del ds.spec["catalogs"]["stac_collection"]
        del ds.spec["catalogs"]["stac_items"]
        for a in ds.spec["artifacts"]:
            a["spatial"] = False

    assert _spec(tmp_path, flat) == []


def test_stac_extension_unavailable_is_a_reason(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[ITEM]["stac_extensions"] = ["https://stac-extensions.github.io/file/v2.1.0/schema.json"]

    res, _ = run(make(tmp_path, post=edit))
    assert [(r.code, r.path, r.pointer) for r in res.reasons] == [
        ("D.stac_extension_unavailable", ITEM, "/stac_extensions/0")]


def test_artifact_not_in_each_catalog(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[DCAT]["dcat:distribution"].pop(0)  # the CSV
        d.docs[ITEM]["assets"] = {}
        d.docs[PROV]["entity"].pop("kfm:file/processed/gauges.geojson")
        d.docs[PROV]["wasGeneratedBy"] = {k: g for k, g in d.docs[PROV]["wasGeneratedBy"].items()
                                          if not g["prov:entity"].endswith(".geojson")}

    res, ctx = run(make(tmp_path, post=edit))
    got = {(r.code, r.message.split()[2]) for r in res.reasons}
    assert got == {("D.artifact_not_in_dcat", "processed/gauges.csv"),
                   ("D.artifact_not_in_stac", "processed/gauges.geojson"),
                   ("D.artifact_not_in_prov", "processed/gauges.geojson")}
    assert ctx.links["processed/gauges.csv"].dcat is None
    assert ctx.links["processed/gauges.geojson"].stac is None


def test_digest_mismatch_in_each_catalog(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[DCAT]["dcat:distribution"][0]["spdx:checksum"]["spdx:checksumValue"] = "0" * 64
        d.docs[ITEM]["assets"]["gauges"]["kfm:digest"] = ZERO
        d.docs[PROV]["entity"]["kfm:file/raw/nwis_export.csv"]["kfm:digest"] = ZERO

    res, ctx = run(make(tmp_path, post=edit))
    assert codes(res) == ["D.digest_mismatch_dcat", "D.digest_mismatch_prov",
                          "D.digest_mismatch_stac"]
    ptrs = {r.code: r.pointer for r in res.reasons}
    assert ptrs["D.digest_mismatch_stac"] == "/assets/gauges/kfm:digest"
    assert ptrs["D.digest_mismatch_prov"] == "/entity/kfm:file~1raw~1nwis_export.csv/kfm:digest"
    # what each catalog claims reaches the capsule, even when it is wrong
    assert ctx.links["processed/gauges.csv"].dcat == ZERO
    assert ctx.links["processed/gauges.geojson"].stac == ZERO


def test_link_broken_missing_mismatch(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[DCAT]["kfm:prov"] = "nowhere.json"
        del d.docs[DCAT]["kfm:stac"]
        links = d.docs[COLLECTION]["links"]
        next(ln for ln in links if ln["rel"] == "via")["href"] = "../dcat.jsonld"

    res, _ = run(make(tmp_path, post=edit))
    got = {(r.code, r.path, r.pointer) for r in res.reasons}
    assert got == {("D.link_broken", DCAT, "/kfm:prov"),
                   ("D.link_missing", DCAT, "/kfm:stac"),
                   ("D.link_mismatch", COLLECTION, "/links/4/href")}


def test_missing_artifact_is_a_broken_link_everywhere(tmp_path: Path) -> None:
    ds = make(tmp_path)
    (ds / "processed/gauges.geojson").unlink()
    res, _ = run(ds)
    broken = sorted(r.path for r in res.reasons if r.code == "D.link_broken")
    assert broken == [DCAT, PROV, ITEM]


def test_stac_item_links_and_prov_dataset_entity(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[ITEM]["links"] = [ln for ln in d.docs[ITEM]["links"] if ln["rel"] != "collection"]
        del d.docs[ITEM]["collection"]  # STAC itself requires the link while this is set
        d.docs[COLLECTION]["links"] = [ln for ln in d.docs[COLLECTION]["links"]
                                       if ln["rel"] != "item"]
        ent = d.docs[PROV]["entity"]
        ent[next(k for k in ent if k.startswith("kfm://dataset/"))]["prov:location"] = "prov.json"

    res, _ = run(make(tmp_path, post=edit))
    got = {(r.code, r.path) for r in res.reasons}
    assert got == {("D.link_missing", ITEM), ("D.link_missing", COLLECTION),
                   ("D.link_mismatch", PROV)}


def test_href_outside_workspace_and_unsafe(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[COLLECTION]["links"].append({"rel": "license", "href": "../../../etc/passwd"})
        d.docs[COLLECTION]["links"].append({"rel": "license", "href": "/etc/passwd"})
        d.docs[ITEM]["links"].append({"rel": "alternate", "href": "..\\..\\x.json"})
        d.docs[ITEM]["links"].append({"rel": "alternate", "href": "../../.git/config"})

    res, _ = run(make(tmp_path, post=edit))
    got = sorted((r.code, r.path, r.pointer) for r in res.reasons)
    assert got == [("D.href_outside_workspace", COLLECTION, "/links/5/href"),
                   ("D.href_outside_workspace", COLLECTION, "/links/6/href"),
                   ("D.href_unsafe", ITEM, "/links/2/href"),
                   ("D.href_unsafe", ITEM, "/links/3/href")]


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_symlink_escaping_workspace_is_outside(tmp_path: Path) -> None:
    ds = make(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    (ds / "catalog" / "notes.txt").symlink_to(secret)
    edit_json(ds / COLLECTION,
              lambda c: c["links"].append({"rel": "about", "href": "../notes.txt"}))
    res, _ = run(ds)
    assert [(r.code, r.pointer) for r in res.reasons] == [
        ("D.href_outside_workspace", "/links/5/href")]


def test_license_conflicts(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[DCAT]["dct:license"] = [{"@id": "https://spdx.org/licenses/CC-BY-4.0"},
                                       {"@id": "https://spdx.org/licenses/MIT"}]
        d.docs[COLLECTION]["license"] = "MIT"

    res, _ = run(make(tmp_path, post=edit))
    assert codes(res) == ["D.license_conflict"]
    assert sorted(r.path for r in res.reasons) == [DCAT, COLLECTION]


def test_license_expression_needs_kfm_expression(tmp_path: Path) -> None:
    def expr(ds: Any) -> None:
        ds.spec["license"]["spdx"] = "CC-BY-4.0 OR MIT"

    assert _spec(tmp_path / "ok", expr) == []  # the builder emits both URIs + expression

    def edit(d: Any) -> None:
        d.docs[DCAT]["kfm:licenseExpression"] = "CC-BY-4.0 AND MIT"

    res, _ = run(make(tmp_path / "bad", mutate=expr, post=edit))
    assert [(r.code, r.pointer) for r in res.reasons] == [
        ("D.license_conflict", "/kfm:licenseExpression")]


def test_identifier_version_and_undeclared_distribution(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[DCAT]["dct:identifier"] = "other_dataset"
        d.docs[COLLECTION]["kfm:dataset_version_id"] = "2025-01.0123456789ab"
        d.docs[DCAT]["dcat:distribution"].append(dict(
            d.docs[DCAT]["dcat:distribution"][0], **{"dcat:accessURL": "../params.yaml"}))

    res, _ = run(make(tmp_path, post=edit))
    got = {(r.code, r.path, r.pointer) for r in res.reasons}
    # the copied checksum is the CSV's, so params.yaml's digest does not match either
    assert got == {("D.identifier_mismatch", DCAT, "/dct:identifier"),
                   ("D.version_mismatch", COLLECTION, "/kfm:dataset_version_id"),
                   ("D.distribution_undeclared", DCAT, "/dcat:distribution/2"),
                   ("D.digest_mismatch_dcat", DCAT,
                    "/dcat:distribution/2/spdx:checksum/spdx:checksumValue")}


def test_reports_all_problems_at_once(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        d.docs[DCAT]["kfm:prov"] = "nowhere.json"
        d.docs[ITEM]["assets"]["gauges"]["kfm:digest"] = ZERO
        d.docs[COLLECTION]["stac_extensions"] = ["https://example.org/ext.json"]

    assert _post(tmp_path, edit) == ["D.digest_mismatch_stac", "D.link_broken",
                                     "D.stac_extension_unavailable"]


GARBAGE = [[], {}, "x", {"@graph": 5}, {"@graph": [1, {"@type": "dcat:Dataset"}]},
           {"@type": "dcat:Dataset", "dcat:distribution": "x", "dct:license": 5},
           {"@type": ["dcat:Dataset", 3], "dcat:distribution": [{"dcat:accessURL": 7}]},
           {"entity": [], "wasGeneratedBy": {"g": {"prov:entity": 1}}},
           {"entity": {"e": {"prov:location": ["a"]}}},
           {"type": "Collection", "stac_version": 1},
           {"type": "Collection", "stac_version": "1.0.0", "links": "x", "license": 3},
           {"type": "Feature", "stac_version": "1.0.0", "assets": {"a": {"href": None}},
            "links": [{"rel": "collection", "href": 5}], "properties": "x"},
           {"type": "Feature", "stac_version": "1.0.0", "stac_extensions": "nope"}]


@pytest.mark.parametrize("target", [DCAT, PROV, COLLECTION, ITEM])
def test_garbage_catalogs_are_reasons_not_crashes(tmp_path: Path, target: str) -> None:
    for i, doc in enumerate(GARBAGE):
        def edit(d: Any, doc: Any = doc) -> None:
            d.docs[target] = doc

        res, _ = run(make(tmp_path / str(i), post=edit))
        assert res.status == "fail"
        assert all(r.code.startswith("D.") and r.path for r in res.reasons)


def test_artifact_listed_without_digest(tmp_path: Path) -> None:
    def edit(d: Any) -> None:
        del d.docs[ITEM]["assets"]["gauges"]["kfm:digest"]

    res, ctx = run(make(tmp_path, post=edit))
    assert [(r.code, r.pointer) for r in res.reasons] == [
        ("D.digest_mismatch_stac", "/assets/gauges/kfm:digest")]
    assert "without a sha256 digest" in res.reasons[0].message
    assert ctx.links["processed/gauges.geojson"].stac is None
