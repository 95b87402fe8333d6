"""Read a PROV bundle into a `prov.model.ProvDocument`: PROV-JSON by the prov library's
own deserializer, PROV-O in JSON-LD through the offline JSON-LD processor and RDF.

What comes out is the PROV data model (entities, activities, generation, usage,
derivation records with full IRIs), so the KFM checks in `catalogs.prov` never depend on
how a producer spelt keys or which serialisation it chose. Alongside, `Sources` keeps the
JSON pointer of each record as written, for findings.
"""

from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

from promote_action.linked_data.jsonld import JsonLdProblem, expand, to_rdf, unbase
from promote_action.resources import load_schema
from promote_action.safeload import escape_pointer_token as tok

SCHEMA = "prov_kfm.schema.json"
_SCHEMA_ID = "https://kfm.example/schemas/prov_kfm.schema.json"


class ProvReadError(Exception):
    """The document is not PROV this reader understands; `code`/`pointer` for gate D."""

    def __init__(self, code: str, pointer: str, message: str):
        super().__init__(message)
        self.code, self.pointer, self.message = code, pointer, message


@dataclass
class Sources:
    """Pointers of records in the source document: node id -> pointer, and for relation
    records (generation, usage) the pointer of the record that states (a, b)."""

    nodes: dict[str, str] = field(default_factory=dict)
    relations: dict[tuple[str, str, str], str] = field(default_factory=dict)  # kind, a, b


def is_jsonld(data: Any) -> bool:
    return isinstance(data, dict) and ("@context" in data or "@graph" in data)


@functools.cache
def _generic_validator() -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry = Registry().with_resource(_SCHEMA_ID, Resource.from_contents(load_schema(SCHEMA)))
    return Draft202012Validator({"$ref": f"{_SCHEMA_ID}#/$defs/prov_json"}, registry=registry)


def generic_errors(data: Any) -> list[tuple[str, str]]:
    """Violations of generic PROV-JSON structure (the serialisation's grammar)."""
    return sorted({("".join(f"/{tok(str(p))}" for p in e.absolute_path), e.message)
                   for e in _generic_validator().iter_errors(data)})


def iri(qn: Any) -> str:
    """A QualifiedName as a full IRI. An id such as "kfm://dataset/x" in PROV-JSON reads
    as prefix kfm + "//dataset/x" (PROV-JSON has no absolute-IRI rule); it means the
    absolute IRI it spells, as in JSON-LD and DCAT."""
    local = getattr(qn, "localpart", None)
    ns = getattr(qn, "namespace", None)
    if isinstance(local, str) and local.startswith("//") and ns is not None:
        return f"{ns.prefix}:{local}"
    return str(getattr(qn, "uri", qn))


def read(data: Any, doc_rel: str, store: Any = None) -> tuple[Any, Sources, str]:
    """(ProvDocument flattened, pointers, "prov-json" | "prov-o"); raises ProvReadError."""
    if not isinstance(data, dict):
        raise ProvReadError("D.prov_invalid", "", "a PROV document must be a JSON object "
                            "(PROV-JSON) or JSON-LD (PROV-O)")
    if is_jsonld(data):
        return _read_prov_o(data, doc_rel, store), _jsonld_sources(data, doc_rel), "prov-o"
    errors = generic_errors(data)
    if errors:
        ptr, msg = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ProvReadError("D.prov_invalid", ptr, f"not PROV-JSON: {_short(msg)}{more}")
    from prov.model import ProvDocument

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = ProvDocument.deserialize(content=json.dumps(data), format="json")
    except Exception as e:
        raise ProvReadError("D.prov_invalid", "", f"not PROV-JSON: {_short(str(e))}") from e
    return doc.flattened(), _json_sources(data, doc), "prov-json"


def _read_prov_o(data: dict[str, Any], doc_rel: str, store: Any) -> Any:
    from prov.model import ProvDocument

    from promote_action.linked_data.shacl import graph_from_dataset

    try:
        expanded = expand(data, doc_rel, store)
        graph = graph_from_dataset(to_rdf(expanded))
    except JsonLdProblem as e:
        raise ProvReadError(e.code, e.pointer, e.message) from e
    _entail(graph)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = ProvDocument.deserialize(content=graph.serialize(format="nt"),
                                           format="rdf", rdf_format="nt")
    except Exception as e:
        raise ProvReadError("D.prov_invalid", "", f"not PROV-O: {_short(str(e))}") from e
    return doc.flattened()


def _entail(graph: Any) -> None:
    """The few PROV-O entailments the prov library's RDF reader does not draw: the
    inverse prov:generated, and the classes the domains/ranges of the starting-point and
    qualified properties imply (an entity with prov:wasGeneratedBy is a prov:Entity
    even when the producer did not type it)."""
    from rdflib import Namespace
    from rdflib.namespace import RDF

    p = Namespace("http://www.w3.org/ns/prov#")
    for act, _, ent in list(graph.triples((None, p.generated, None))):
        graph.add((ent, p.wasGeneratedBy, act))
    typed = {p.wasGeneratedBy: (p.Entity, p.Activity),
             p.qualifiedGeneration: (p.Entity, p.Generation),
             p.wasDerivedFrom: (p.Entity, p.Entity), p.used: (p.Activity, p.Entity),
             p.atLocation: (None, None)}
    for prop, (domain, rng) in typed.items():
        for s, _, o in list(graph.triples((None, prop, None))):
            if domain is not None:
                graph.add((s, RDF.type, domain))
            if rng is not None:
                graph.add((o, RDF.type, rng))


def _json_sources(data: dict[str, Any], doc: Any) -> Sources:
    src = Sources()

    def name(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        try:
            return iri(doc.valid_qualified_name(value))
        except Exception:  # noqa: BLE001 - an unparsable id simply has no pointer
            return None

    def walk(section: dict[str, Any], base: str) -> None:
        for kind in ("entity", "activity", "agent"):
            recs = section.get(kind)
            for key in recs if isinstance(recs, dict) else {}:
                full = name(key)
                if full is not None:
                    src.nodes.setdefault(full, f"{base}/{kind}/{tok(key)}")
        for kind, a_key, b_key in (("wasGeneratedBy", "prov:entity", "prov:activity"),
                                   ("used", "prov:activity", "prov:entity")):
            recs = section.get(kind)
            for key, rec in (recs.items() if isinstance(recs, dict) else []):
                for i, r in enumerate(rec if isinstance(rec, list) else [rec]):
                    if isinstance(r, dict):
                        a, b = name(r.get(a_key)), name(r.get(b_key))
                        ptr = f"{base}/{kind}/{tok(key)}" + (
                            f"/{i}" if isinstance(rec, list) else "")
                        if a and b:
                            src.relations.setdefault((kind, a, b), ptr)
        bundles = section.get("bundle")
        for key, sub in (bundles.items() if isinstance(bundles, dict) else []):
            if isinstance(sub, dict):
                walk(sub, f"{base}/bundle/{tok(key)}")

    walk(data, "")
    return src


def _jsonld_sources(data: dict[str, Any], doc_rel: str) -> Sources:
    from promote_action.linked_data.view import SourceMap

    raw = data.get("@context")
    sm = SourceMap.build(data, doc_rel, [raw] if isinstance(raw, dict | list) else [])
    src = Sources({unbase(k, doc_rel): ptr for k, (ptr, _) in sm.ids.items()})
    for node_id, (ptr, node) in sm.ids.items():
        key = sm.key_for(node, "prov:wasGeneratedBy")
        if key is None:
            continue
        for act in _ids(node.get(key)):
            src.relations.setdefault(("wasGeneratedBy", unbase(node_id, doc_rel),
                                      unbase(sm.expand_id(act), doc_rel)), f"{ptr}/{tok(key)}")
    return src


def _ids(value: Any) -> list[str]:
    out = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict) and isinstance(v.get("@id"), str):
            out.append(v["@id"])
    return out


def _short(msg: str) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= 240 else msg[:237] + "..."
