"""DCAT as linked data: the same graph written with other contexts, prefixes, `@graph`
wrapping or full IRIs gives the same gate D result; contexts only from the product or
the reviewed schema directory; real DCAT-AP examples read offline."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gate_d_support import DCAT, codes, make, run
from tests_support import SHARED_DATA

from promote_action.catalogs import dcat
from promote_action.gates.base import Options
from promote_action.linked_data.jsonld import KFM_CONTEXT_URL, PREFIXES
from promote_action.stac_schemas.fetch import add
from promote_action.stac_schemas.store import SchemaStore

DCAT_AP = SHARED_DATA / "dcat-ap" / "3.0.1"
SEMIC_CONTEXT = ("https://semiceu.github.io/uri.semic.eu-generated/DCAT-AP/releases/3.0.0/"
                 "html/examples/context.jsonld")


def _full(name: str) -> str:
    prefix, _, rest = name.partition(":")
    return PREFIXES[prefix] + rest if prefix in PREFIXES and not rest.startswith("//") \
        else name


def _expand_keys(value: Any) -> Any:
    """The document with every KFM-prefixed key and @type written as a full IRI."""
    if isinstance(value, list):
        return [_expand_keys(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        if k == "@type":
            out[k] = _full(v) if isinstance(v, str) else v
        elif k == "@context":
            continue
        else:
            out[_full(k) if not k.startswith("@") else k] = _expand_keys(v)
    return out


def dcterms_prefix(doc: dict[str, Any]) -> dict[str, Any]:
    ctx = doc["@context"]
    ctx["dcterms"] = ctx.pop("dct")
    text = json.dumps(doc).replace('"dct:', '"dcterms:')
    return json.loads(text)  # type: ignore[no-any-return]


def full_iris(doc: dict[str, Any]) -> dict[str, Any]:
    out = _expand_keys(doc)
    # literal values written with a prefix stay literals, like the original
    return out  # type: ignore[no-any-return]


def graph_wrapped(doc: dict[str, Any]) -> dict[str, Any]:
    ctx = doc.pop("@context")
    dists = doc.pop("dcat:distribution")
    for i, d in enumerate(dists):
        d["@id"] = f"_:dist{i}"
    doc["dcat:distribution"] = [{"@id": d["@id"]} for d in dists]
    return {"@context": ctx, "@graph": [*reversed(dists), doc]}


def bundled_context(doc: dict[str, Any]) -> dict[str, Any]:
    doc["@context"] = [KFM_CONTEXT_URL, {"kfm": "https://kfm.example/ns#"}]
    return doc


VARIANTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "dcterms_prefix": dcterms_prefix, "full_iris": full_iris,
    "graph_wrapped": graph_wrapped, "bundled_context": bundled_context,
}


def _variant(tmp: Path, fn: Callable[[dict[str, Any]], dict[str, Any]],
             extra: Callable[[dict[str, Any]], None] | None = None) -> Path:
    def post(d: Any) -> None:
        if extra is not None:
            extra(d.docs[DCAT])
        d.docs[DCAT] = fn(copy.deepcopy(d.docs[DCAT]))

    return make(tmp, post=post)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_same_graph_other_spelling_passes(tmp_path: Path, name: str) -> None:
    res, ctx = run(_variant(tmp_path, VARIANTS[name]))
    assert res.reasons == (), res.reasons
    assert all(link.dcat == link.actual for link in ctx.links.values())


def _break(doc: dict[str, Any]) -> None:
    doc["dcat:distribution"][1]["spdx:checksum"]["spdx:checksumValue"] = "f" * 64
    del doc["dct:rightsHolder"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_same_broken_graph_other_spelling_same_findings(tmp_path: Path, name: str) -> None:
    base, _ = run(make(tmp_path / "base", post=lambda d: _break(d.docs[DCAT])))
    res, _ = run(_variant(tmp_path / "v", VARIANTS[name], _break))
    assert codes(res) == codes(base) == ["D.dcat_invalid", "D.digest_mismatch_dcat"]
    strip = [r.message.split(" (SHACL")[0] for r in res.reasons]
    assert strip == [r.message.split(" (SHACL")[0] for r in base.reasons]
    mismatch = [r for r in res.reasons if r.code == "D.digest_mismatch_dcat"]
    assert mismatch[0].pointer.endswith("spdx:checksumValue")
    if name == "dcterms_prefix":  # pointers name the keys as written
        assert mismatch[0].pointer == "/dcat:distribution/1/spdx:checksum/spdx:checksumValue"


def test_unknown_remote_context_is_denied_naming_it(tmp_path: Path) -> None:
    url = "https://example.org/contexts/dcat.jsonld"

    def post(d: Any) -> None:
        d.docs[DCAT]["@context"] = url

    res, _ = run(make(tmp_path, post=post))
    found = [r for r in res.reasons if r.code == "D.jsonld_context_unavailable"]
    assert len(found) == 1 and url in found[0].message and found[0].pointer == "/@context"


@pytest.mark.skipif(not DCAT_AP.is_dir(), reason="shared DCAT-AP data is absent")
def test_dcat_ap_examples_with_the_context_reviewed_offline(tmp_path: Path) -> None:
    d = tmp_path / "s"
    add(d, [str(DCAT_AP / "context" / "context.jsonld")], as_url=SEMIC_CONTEXT)
    store = SchemaStore(d, "s")
    bee = json.loads((DCAT_AP / "examples/example-bee-population.jsonld").read_text())
    view = dcat.inspect(bee, "dcat.jsonld", store)
    assert view.node["dct:title"] == {"@language": "en", "@value": "Bee population"}
    assert view.prefix == "/@graph/0" and view.keys["dct:title"] == "title"
    assert {c for c, _, _ in view.problems} == {"D.dcat_invalid"}
    assert all(p.startswith("/@graph/0") for _, p, _ in view.problems)
    series = json.loads((DCAT_AP / "examples/example-bee-population-dataset-series-combined"
                                   ".jsonld").read_text())
    [(code, pointer, msg)] = dcat.inspect(series, "dcat.jsonld", store).problems
    assert (code, pointer) == ("D.dcat_invalid", "/@graph") and "found 4" in msg


def test_reviewed_context_with_bytes_changed_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "s"
    ctx = tmp_path / "ctx.jsonld"
    ctx.write_text(json.dumps({"@context": {"title": "http://purl.org/dc/terms/title"}}))
    url = "https://example.org/ctx.jsonld"
    add(d, [str(ctx)], as_url=url)
    (d / "example.org/ctx.jsonld").write_text('{"@context": {}}')
    view = dcat.inspect({"@context": url, "@type": "http://www.w3.org/ns/dcat#Dataset"},
                        "dcat.jsonld", SchemaStore(d, "s"))
    [(code, _, msg)] = view.problems
    assert code == "D.jsonld_context_mismatch" and "s/example.org/ctx.jsonld" in msg


def test_gate_d_reads_contexts_from_the_configured_store(tmp_path: Path) -> None:
    from gate_d_support import context

    from promote_action.gates import d_catalogs

    d = tmp_path / "s"
    ctx_file = tmp_path / "kfm-terms.jsonld"
    ctx_file.write_text(json.dumps({"@context": {
        k: v for k, v in PREFIXES.items() if k in ("dcat", "dct", "spdx", "foaf", "prov",
                                                    "kfm")}}))
    url = "https://example.org/kfm-terms.jsonld"
    add(d, [str(ctx_file)], as_url=url)

    def post(x: Any) -> None:
        x.docs[DCAT]["@context"] = url

    c = context(make(tmp_path / "ds", post=post))
    c.options = Options(stac_schemas=SchemaStore(d, "s"))
    assert d_catalogs.check(c).reasons == ()


def test_reviewed_contexts_that_include_each_other_end_cleanly(tmp_path: Path) -> None:
    """A context loop through the schema directory: pyld's recursion guard, one finding."""
    d = tmp_path / "s"
    a, b = "https://example.org/a.jsonld", "https://example.org/b.jsonld"
    fa, fb = tmp_path / "a.jsonld", tmp_path / "b.jsonld"
    fa.write_text(json.dumps({"@context": [b, {"title": "http://purl.org/dc/terms/title"}]}))
    fb.write_text(json.dumps({"@context": a}))
    add(d, [str(fa)], as_url=a)
    add(d, [str(fb)], as_url=b)
    view = dcat.inspect({"@context": a, "@type": "http://www.w3.org/ns/dcat#Dataset"},
                        "dcat.jsonld", SchemaStore(d, "s"))
    [(code, pointer, msg)] = view.problems
    assert (code, pointer) == ("D.jsonld_invalid", "/@context")
    assert msg == ("not valid JSON-LD: Cyclical @context URLs detected. (context overflow, "
                   f"{a})")
