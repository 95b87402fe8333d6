"""DCAT read as linked data: JSON-LD expanded offline (pyld), the KFM profile as SHACL.

A DCAT record is an RDF graph. It is expanded with a document loader that never touches
the network (`linked_data.jsonld`), checked with pyshacl against the KFM DCAT shapes the
product ships (`schemas/shacl/kfm-dcat.ttl`), and the one dcat:Dataset node is read
into a compact, KFM-prefixed view for the cross-link checks — so `dcterms:` or `dct:`, an
inline or a reviewed remote context, `@graph` or nesting, compact or full IRIs all mean
the same. Problems carry a reason code and, where it can be told, the JSON pointer into
the document as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from promote_action.linked_data.jsonld import JsonLdProblem, compact_iri, expand, flatten, to_rdf
from promote_action.linked_data.view import Graph, SourceMap, node_types
from promote_action.safeload import escape_pointer_token as tok

SHAPES = "kfm-dcat.ttl"
DATASET_IRI = "http://www.w3.org/ns/dcat#Dataset"
DATASET_TYPE = "dcat:Dataset"
_SPDX_URI = re.compile(r"^https?://spdx\.org/licenses/([^\s/?#()]+?)(\.html|\.json)?$")
_OPERATORS = {"AND", "OR", "WITH"}


@dataclass
class DcatView:
    """The dataset node of a DCAT document (compact view), and what is wrong with it."""

    node: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""  # JSON pointer of the node in the source document
    keys: dict[str, str] = field(default_factory=dict)  # compact name -> source key
    dist_pointers: list[str] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # code, ptr, msg

    def pointer(self, *tokens: str | int) -> str:
        if not tokens:
            return self.prefix
        first = self.keys.get(str(tokens[0]), str(tokens[0]))
        return self.prefix + "".join(f"/{tok(str(t))}" for t in (first, *tokens[1:]))


def types_of(node: dict[str, Any]) -> list[str]:
    t = node.get("@type")
    if isinstance(t, str):
        return [t]
    return [x for x in t if isinstance(x, str)] if isinstance(t, list) else []


def inspect(data: Any, doc_rel: str = "dcat.jsonld", store: Any = None) -> DcatView:
    """Expand, validate with SHACL, and find the one dcat:Dataset node (all problems)."""
    view = DcatView()
    if not isinstance(data, dict | list):
        view.problems.append(("D.dcat_invalid", "", "a DCAT document must be a JSON-LD "
                              "object or array"))
        return view
    try:
        expanded = expand(data, doc_rel, store)
        nodes = {n["@id"]: n for n in flatten(expanded) if isinstance(n.get("@id"), str)}
        rdf = to_rdf(expanded)
    except JsonLdProblem as e:
        view.problems.append((e.code, e.pointer, e.message))
        return view
    contexts = _contexts(data, store)
    source = SourceMap.build(data, doc_rel, contexts)
    datasets = sorted(i for i, n in nodes.items() if DATASET_IRI in node_types(n))
    if len(datasets) != 1:
        seen = sorted({compact_iri(t) for n in nodes.values() for t in node_types(n)})
        view.problems.append(("D.dcat_invalid", "/@graph" if "@graph" in data else "",
                              f"expected exactly one node of @type {DATASET_TYPE!r}, found "
                              f"{len(datasets)} (types present: {', '.join(seen) or 'none'})"))
        return view
    graph = Graph(nodes, doc_rel)
    _fill_view(view, graph.compact(nodes[datasets[0]]), source, data)
    _shacl(view, rdf, source)
    return view


def _contexts(data: Any, store: Any) -> list[Any]:
    """The contexts a document names (inline ones, bundled or reviewed remote ones), for
    mapping findings back to the keys it wrote."""
    from promote_action.linked_data.jsonld import Loader

    raw = data.get("@context") if isinstance(data, dict) else None
    out: list[Any] = []
    for c in raw if isinstance(raw, list) else [raw]:
        if isinstance(c, str):
            try:
                doc = Loader(store)(c)["document"]
            except JsonLdProblem:
                continue
            c = doc.get("@context") if isinstance(doc, dict) else None
        if isinstance(c, dict | list):
            out.append(c)
    return out


def _fill_view(view: DcatView, node: dict[str, Any], source: SourceMap, data: Any) -> None:
    view.node = node
    found = source.pointer_of(node.get("@id", "")) if isinstance(node.get("@id"), str) \
        else None
    if found is None and isinstance(data, dict) and "@graph" not in data:
        found = ("", data)
    if found is None:
        return
    view.prefix, src = found
    for name in node:
        key = source.key_for(src, name)
        if key is not None:
            view.keys[name] = key
    view.dist_pointers = _distribution_pointers(view, source, src)


def _distribution_pointers(view: DcatView, source: SourceMap, src: dict[str, Any]
                           ) -> list[str]:
    """Source pointer of each distribution in the view, matched by its accessURL (a
    graph has no order; the document does)."""
    dists = _as_list(view.node.get("dcat:distribution"))
    key = view.keys.get("dcat:distribution")
    raw = src.get(key) if key is not None else None
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    base = view.prefix + (f"/{tok(key)}" if key is not None else "")
    hrefs = []
    for item in items:
        k = source.key_for(item, "dcat:accessURL") if isinstance(item, dict) else None
        hrefs.append(href_of(item[k]) if k is not None and isinstance(item, dict) else None)
    out = []
    for i, d in enumerate(dists):
        want = href_of(d.get("dcat:accessURL")) if isinstance(d, dict) else None
        j = next((j for j, h in enumerate(hrefs) if h is not None and h == want), None)
        if j is None and len(items) == len(dists):
            j = i
        ptr = base if j is None else base + (f"/{j}" if isinstance(raw, list) else "")
        out.append(ptr)
        if isinstance(d, dict) and isinstance(d.get("@id"), str) and j is not None:
            source.ids.setdefault(d["@id"], (ptr, items[j]))
            cs = d.get("spdx:checksum")
            ck = source.key_for(items[j], "spdx:checksum")
            if isinstance(cs, dict) and isinstance(cs.get("@id"), str) and ck is not None \
                    and isinstance(items[j].get(ck), dict):
                source.ids.setdefault(cs["@id"], (f"{ptr}/{tok(ck)}", items[j][ck]))
    return out


def _shacl(view: DcatView, rdf: dict[str, Any], source: SourceMap) -> None:
    from promote_action.linked_data.shacl import graph_from_dataset, validate

    for v in validate(graph_from_dataset(rdf), SHAPES):
        found = source.pointer_of(v.focus)
        ptr, src = found if found is not None else (view.prefix, {})
        path = compact_iri(v.path) if v.path else None
        key = source.key_for(src, path) if path and src else None
        pointer = ptr + (f"/{tok(key)}" if key is not None else "")
        focus = v.focus if not v.focus.startswith("_:") else \
            f"the blank node at {ptr or '/'}"
        where = f"focus {focus}" + (f", path {path}" if path else "")
        view.problems.append(("D.dcat_invalid", pointer, f"{v.message} (SHACL "
                              f"{v.component}; {where})"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def href_of(value: Any) -> Any:
    """A reference written as a plain string or as a JSON-LD node reference {"@id": …}."""
    if isinstance(value, dict) and "@id" in value:
        return value["@id"]
    return value


def text_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("@value", value.get("foaf:name"))
        if isinstance(value, dict):
            value = value.get("@value")
    return value if isinstance(value, str) else None


def license_ids(node: dict[str, Any]) -> list[str]:
    """SPDX ids named by dct:license (URIs that are not SPDX license URIs are kept whole,
    so they show up in a conflict message rather than vanishing)."""
    raw = node.get("dct:license")
    values = raw if isinstance(raw, list) else [raw] if raw is not None else []
    out = []
    for v in values:
        href = href_of(v)
        if isinstance(href, str):
            m = _SPDX_URI.match(href)
            out.append(m.group(1) if m else href)
    return out


def expression_ids(expression: str) -> list[str]:
    """License ids in an SPDX expression (operators and WITH-exceptions left out)."""
    # Not a validator (gate B judges the expression): anything between spaces/parens.
    tokens = re.findall(r"[^\s()]+", expression)
    out, skip = [], False
    for t in tokens:
        if skip:
            skip = False
            continue
        if t.upper() == "WITH":
            skip = True
        elif t.upper() not in _OPERATORS:
            out.append(t)
    return out


def distributions(view: DcatView) -> list[tuple[str, Any, str | None]]:
    """(pointer, accessURL href, "sha256:<hex>" or None) for each distribution."""
    out = []
    for i, d in enumerate(_as_list(view.node.get("dcat:distribution"))):
        if not isinstance(d, dict):
            continue
        checksum = d.get("spdx:checksum")
        digest = None
        if isinstance(checksum, dict):
            algo = href_of(checksum.get("spdx:algorithm"))
            value = checksum.get("spdx:checksumValue")
            if (isinstance(algo, str) and algo.endswith("checksumAlgorithm_sha256")
                    and isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value)):
                digest = "sha256:" + value
        ptr = view.dist_pointers[i] if i < len(view.dist_pointers) else \
            view.pointer("dcat:distribution", i)
        out.append((ptr, href_of(d.get("dcat:accessURL")), digest))
    return out
