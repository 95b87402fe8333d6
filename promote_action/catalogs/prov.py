"""PROV bundles (PROV-JSON or PROV-O JSON-LD) read into one small graph model.

Gate D needs three things from provenance: which entities are files (and where, with
which digest), which activity generated each entity, and the entity for the dataset
itself. Both serialisations are reduced to that model, so the cross-link checks (and
gate C's "the redaction activity generated the artifacts") are written once.

Validation has two layers in `schemas/prov_kfm.schema.json`: generic PROV-JSON structure,
then what KFM requires on top. Problems say which layer failed, so a contributor can
tell "this is not PROV-JSON" from "this is PROV-JSON but lacks what KFM needs".
PROV-O is read without a JSON-LD processor: inline @context, compact prov:/kfm: names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from promote_action.resources import load_schema
from promote_action.safeload import escape_pointer_token as tok
from promote_action.schemas import schema_errors

SCHEMA = "prov_kfm.schema.json"
_SCHEMA_ID = "https://kfm.example/schemas/prov_kfm.schema.json"


@dataclass(frozen=True)
class Entity:
    id: str
    pointer: str
    location: Any  # href as written (None when absent)
    digest: str | None
    location_pointer: str


@dataclass
class ProvGraph:
    format: str | None = None  # "prov-json" | "prov-o" | None (neither)
    entities: dict[str, Entity] = field(default_factory=dict)
    activities: dict[str, str] = field(default_factory=dict)  # id -> pointer
    generations: list[tuple[str, str, str]] = field(default_factory=list)  # entity, act, ptr
    problems: list[tuple[str, str]] = field(default_factory=list)

    def generated_by(self, entity_id: str) -> list[str]:
        """Activities that generated `entity_id` (empty: nothing claims to have made it)."""
        return sorted({a for e, a, _ in self.generations if e == entity_id})


@functools.cache
def _generic_validator() -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry = Registry().with_resource(_SCHEMA_ID, Resource.from_contents(load_schema(SCHEMA)))
    return Draft202012Validator({"$ref": f"{_SCHEMA_ID}#/$defs/prov_json"}, registry=registry)


def generic_errors(data: Any) -> list[tuple[str, str]]:
    """Violations of generic PROV-JSON structure only (no KFM requirements)."""
    return sorted({("".join(f"/{tok(str(p))}" for p in e.absolute_path), e.message)
                   for e in _generic_validator().iter_errors(data)})


def is_prov_json(data: Any) -> bool:
    return isinstance(data, dict) and "@graph" not in data and not generic_errors(data)


def literal(value: Any) -> Any:
    """Unwrap a PROV-JSON typed literal {"$": v, "type": t} or a JSON-LD {"@id"/"@value"}."""
    if isinstance(value, dict):
        for key in ("$", "@id", "@value"):
            if key in value:
                return value[key]
    return value


def inspect(data: Any) -> ProvGraph:
    graph = ProvGraph()
    if not isinstance(data, dict):
        graph.problems.append(("", "a PROV document must be a JSON object (PROV-JSON) or a "
                               "JSON-LD object with @graph (PROV-O)"))
        return graph
    generic = set(generic_errors(data)) if "@graph" not in data else set()
    for pointer, msg in schema_errors(SCHEMA, data):
        layer = "not PROV-JSON" if (pointer, msg) in generic else "KFM PROV profile"
        if "@graph" in data:
            layer = "KFM PROV-O profile"
        graph.problems.append((pointer, f"{layer}: {_short(msg)}"))
    if "@graph" in data:
        graph.format = "prov-o"
        _read_prov_o(data, graph)
    else:
        graph.format = None if generic else "prov-json"
        _read_prov_json(data, graph)
    _check_references(graph)
    return graph


def _short(msg: str) -> str:
    return msg if len(msg) <= 240 else msg[:237] + "..."


def _records(value: Any, base: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, pointer, attributes) for a PROV-JSON record map (array values allowed)."""
    if not isinstance(value, dict):
        return []
    out = []
    for rid, rec in value.items():
        recs = rec if isinstance(rec, list) else [rec]
        for i, r in enumerate(recs):
            if isinstance(r, dict):
                ptr = f"{base}/{tok(rid)}" + (f"/{i}" if isinstance(rec, list) else "")
                out.append((rid, ptr, r))
    return out


def _digest(value: Any) -> str | None:
    v = literal(value)
    return v if isinstance(v, str) else None


def _read_prov_json(data: dict[str, Any], graph: ProvGraph) -> None:
    for eid, ptr, attrs in _records(data.get("entity"), "/entity"):
        graph.entities[eid] = Entity(eid, ptr, literal(attrs.get("prov:location")),
                                     _digest(attrs.get("kfm:digest")), ptr + "/prov:location")
    for aid, ptr, _ in _records(data.get("activity"), "/activity"):
        graph.activities[aid] = ptr
    for _, ptr, attrs in _records(data.get("wasGeneratedBy"), "/wasGeneratedBy"):
        ent, act = attrs.get("prov:entity"), attrs.get("prov:activity")
        if isinstance(ent, str) and isinstance(act, str):
            graph.generations.append((ent, act, ptr))


def _types(node: dict[str, Any]) -> list[str]:
    t = node.get("@type")
    return [t] if isinstance(t, str) else [x for x in t if isinstance(x, str)] \
        if isinstance(t, list) else []


def _read_prov_o(data: dict[str, Any], graph: ProvGraph) -> None:
    nodes = data.get("@graph")
    if not isinstance(nodes, list):
        return
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("@id"), str):
            continue
        nid, ptr, types = node["@id"], f"/@graph/{i}", _types(node)
        if "prov:Activity" in types:
            graph.activities[nid] = ptr
        if "prov:Entity" not in types:
            continue
        graph.entities[nid] = Entity(nid, ptr, literal(node.get("prov:atLocation")),
                                     _digest(node.get("kfm:digest")), ptr + "/prov:atLocation")
        gens = node.get("prov:wasGeneratedBy")
        for j, g in enumerate(gens if isinstance(gens, list) else [gens]):
            act = literal(g)
            if isinstance(act, str):
                suffix = f"/{j}" if isinstance(gens, list) else ""
                graph.generations.append((nid, act, f"{ptr}/prov:wasGeneratedBy{suffix}"))


def _check_references(graph: ProvGraph) -> None:
    """A generation that names an undeclared entity or activity is a dangling edge: the
    bundle would claim provenance for something it never describes."""
    if graph.format is None:
        return
    if graph.format == "prov-o" and not graph.activities:
        graph.problems.append(("/@graph", "KFM PROV-O profile: no prov:Activity node"))
    if graph.format == "prov-o" and not graph.generations:
        graph.problems.append(("/@graph", "KFM PROV-O profile: no prov:Entity has "
                               "prov:wasGeneratedBy"))
    for ent, act, ptr in graph.generations:
        if ent not in graph.entities:
            graph.problems.append((ptr, f"generation refers to undeclared entity {ent!r}"))
        if act not in graph.activities:
            graph.problems.append((ptr, f"generation refers to undeclared activity {act!r}"))
