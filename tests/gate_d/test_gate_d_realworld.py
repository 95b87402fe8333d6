"""Real DCAT, PROV and STAC documents written by others (SHARED_DATA), read offline.

They are valid in their own standards but not in the KFM profiles: they must load, and
be reported with reasons that carry pointers, never crash and never touch the network.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from gate_d_support import COLLECTION, DCAT, ITEM, PROV, codes, make, run
from tests_support import SHARED_DATA

from promote_action.catalogs import dcat, prov, stac

DCAT_DIR = SHARED_DATA / "dcat"
PROV_FILES = sorted((SHARED_DATA / "prov").glob("*.json"))
STAC_DIR = SHARED_DATA / "stac"


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def test_w3c_dcat_example_is_read_as_rdf_and_checked_against_the_profile() -> None:
    view = dcat.inspect(_load(DCAT_DIR / "w3c-basic-example.jsonld"), "dcat.jsonld")
    assert view.prefix == "/@graph/3"  # ex:dataset-001, the one dcat:Dataset node
    # its context's "dcterms:title" is dct:title: the graph counts, not the prefix
    assert view.node["dct:title"] == {"@language": "en", "@value": "Imaginary dataset"}
    assert view.keys["dct:title"] == "dcterms:title"
    missing = {m.split(" (SHACL")[0] for c, p, m in view.problems if p == "/@graph/3"}
    assert not any("dct:title" in m for m in missing)
    assert any(m.startswith("dct:license must be") for m in missing)
    assert all(c == "D.dcat_invalid" for c, _, _ in view.problems)
    dist = [m for _, p, m in view.problems if p == "/@graph/4"]
    assert any("focus https://dcat.example.org/dataset-001-csv" in m for m in dist)


def test_semic_dcat_ap_example_with_remote_context_is_denied_naming_it(no_network: None
                                                                      ) -> None:
    view = dcat.inspect(_load(DCAT_DIR / "example-bee-population.jsonld"), "dcat.jsonld")
    [(code, pointer, msg)] = view.problems
    assert (code, pointer) == ("D.jsonld_context_unavailable", "/@context")
    assert "https://semiceu.github.io/uri.semic.eu-generated/DCAT-AP/releases/3.0.0/html/" \
        "examples/context.jsonld" in msg and "kfm-promote schemas add" in msg


def test_a_context_document_is_not_a_dataset() -> None:
    view = dcat.inspect(_load(DCAT_DIR / "context.jsonld"), "dcat.jsonld")
    assert [(c, p) for c, p, _ in view.problems] == [("D.dcat_invalid", "")]


@pytest.mark.parametrize("path", PROV_FILES, ids=lambda p: p.name)
def test_real_prov_json_is_read_by_the_prov_library(path: Path) -> None:
    data = _load(path)
    graph = prov.inspect(data, "prov.json")
    assert graph.format == "prov-json"
    # PROV-DM examples, not KFM bundles: what KFM needs is missing, said on the model
    assert graph.problems
    assert all(c == "D.prov_invalid" and m.startswith("KFM PROV profile:")
               for c, _, m in graph.problems)


def test_real_stac_collection_with_extensions_is_unavailable_offline(no_network: None
                                                                     ) -> None:
    reasons = stac.validate(_load(STAC_DIR / "collection.json"), "collection.json")
    assert [(r.code, r.pointer) for r in reasons] == [
        ("D.stac_extension_unavailable", f"/stac_extensions/{i}") for i in range(3)]
    assert "eo/v1.0.0" in reasons[0].message


@pytest.mark.parametrize("name", ["simple-item.json", "core-item.json"])
def test_real_core_only_stac_items_validate_offline(name: str, no_network: None) -> None:
    assert stac.validate(_load(STAC_DIR / name), name, expect="Feature") == []


def test_invalid_real_stac_item_names_the_field(no_network: None) -> None:
    data = _load(STAC_DIR / "core-item.json")
    del data["id"]
    data["properties"]["start_datetime"] = "yesterday"
    reasons = stac.validate(data, "core-item.json")
    assert {r.code for r in reasons} == {"D.stac_invalid"}
    assert {r.pointer for r in reasons} >= {"", "/properties/start_datetime"}
    assert all("migrated by pystac" in r.message for r in reasons)


@pytest.mark.parametrize(("version", "fragment"), [("1.2.0", "newer than"),
                                                  ("0.9.0", "predates"),
                                                  ("one", "not a STAC version")])
def test_stac_versions_without_offline_schema(version: str, fragment: str) -> None:
    data = _load(STAC_DIR / "simple-item.json")
    data["stac_version"] = version
    reasons = stac.validate(data, "x.json")
    assert [(r.code, r.pointer) for r in reasons] == [("D.stac_invalid", "/stac_version")]
    assert fragment in reasons[0].message


def test_gate_with_extension_never_touches_network(tmp_path: Path, no_network: None) -> None:
    ds = make(tmp_path)
    shutil.copy(STAC_DIR / "collection.json", ds / COLLECTION)
    res, _ = run(ds)
    assert "D.stac_extension_unavailable" in codes(res)
    assert "D.stac_invalid" not in codes(res)


def test_gate_with_real_documents_in_place(tmp_path: Path, no_network: None) -> None:
    ds = make(tmp_path)
    shutil.copy(DCAT_DIR / "w3c-basic-example.jsonld", ds / DCAT)
    shutil.copy(SHARED_DATA / "prov" / "bundle1.json", ds / PROV)
    shutil.copy(STAC_DIR / "simple-item.json", ds / ITEM)
    res, ctx = run(ds)
    got = codes(res)
    for code in ("D.dcat_invalid", "D.prov_invalid", "D.artifact_not_in_prov",
                 "D.artifact_not_in_stac", "D.link_missing"):
        assert code in got
    assert all(r.path for r in res.reasons)
    assert {f["kind"] for f in ctx.facts["catalogs"]} == {"dcat", "stac_collection",
                                                           "stac_item", "prov"}


def _prov_o(ds: Path) -> dict[str, Any]:
    """The fixture's PROV-JSON bundle rewritten as PROV-O JSON-LD."""
    pj = _load(ds / PROV)
    graph: list[dict[str, Any]] = []
    gens: dict[str, list[dict[str, str]]] = {}
    for g in pj["wasGeneratedBy"].values():
        gens.setdefault(g["prov:entity"], []).append({"@id": g["prov:activity"]})
    for eid, attrs in pj["entity"].items():
        node: dict[str, Any] = {"@id": eid, "@type": "prov:Entity",
                                "prov:atLocation": attrs["prov:location"]}
        if "kfm:digest" in attrs:
            node["kfm:digest"] = attrs["kfm:digest"]
        if eid in gens:
            node["prov:wasGeneratedBy"] = gens[eid]
        graph.append(node)
    graph += [{"@id": aid, "@type": "prov:Activity"} for aid in pj["activity"]]
    return {"@context": {"prov": "http://www.w3.org/ns/prov#",
                         "kfm": "https://kfm.example/ns#",
                         "dcat": "http://www.w3.org/ns/dcat#"}, "@graph": graph}


def test_prov_o_jsonld_is_accepted(tmp_path: Path) -> None:
    ds = make(tmp_path)
    doc = _prov_o(ds)
    (ds / PROV).write_text(json.dumps(doc))
    res, ctx = run(ds)
    assert res.status == "pass", res.reasons
    assert ctx.links["processed/gauges.csv"].prov == ctx.links["processed/gauges.csv"].actual
    graph = prov.inspect(doc, PROV)
    assert graph.format == "prov-o"
    assert graph.generated_by("kfm:file/processed/gauges.csv") == [
        "https://kfm.example/ns#run/kansas_river_gauges/2026-02/build"]


def test_prov_o_without_generation_or_activity(tmp_path: Path) -> None:
    ds = make(tmp_path)
    doc = _prov_o(ds)
    # no activity node: prov:wasGeneratedBy's range still makes the run an activity
    doc["@graph"] = [n for n in doc["@graph"] if n["@type"] != "prov:Activity"]
    (ds / PROV).write_text(json.dumps(doc))
    res, _ = run(ds)
    assert res.reasons == (), res.reasons
    for node in doc["@graph"]:
        node.pop("prov:wasGeneratedBy", None)
    (ds / PROV).write_text(json.dumps(doc))
    res, _ = run(ds)
    msgs = [(r.pointer, r.message) for r in res.reasons if r.code == "D.prov_invalid"]
    assert any(p == "/@graph" and "no activity" in m for p, m in msgs)
    assert any(p == "/@graph" and "no generation" in m for p, m in msgs)
    assert "D.artifact_not_in_prov" in codes(res)
    del doc["@context"]  # prov:… keys are then IRIs of an unknown "prov:" scheme
    problems = prov.inspect(doc, PROV).problems
    assert any("no generation" in m for _, _, m in problems)
