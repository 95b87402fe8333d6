"""PROV bundles checked on the PROV data model (the `prov` library), not on key names.

`prov_read` turns PROV-JSON or PROV-O (JSON-LD) into a `ProvDocument`; this module reduces
it to what gate D and gate C need — entities (with their location and KFM digest),
activities, generation, usage and derivation, all by full IRI — and checks the KFM
requirements on that model: there is a run activity that generated something, every
relation names declared records, and each input an output was derived from is `used` by
the activity that generated the output. Which artifact is which entity is decided by the
entity's location (gate D resolves it), so ids are free-form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promote_action.catalogs.prov_read import ProvReadError, Sources, iri, read
from promote_action.linked_data.jsonld import unbase

KFM_NS = "https://kfm.example/ns#"
_PROV_NS = "http://www.w3.org/ns/prov#"
_DIGEST = KFM_NS + "digest"
_DEFAULT_PREFIXES = {"kfm": KFM_NS, "prov": _PROV_NS}


@dataclass(frozen=True)
class Entity:
    id: str  # full IRI
    pointer: str
    location: Any  # href as written (None when absent)
    digest: str | None
    location_pointer: str


@dataclass
class ProvGraph:
    format: str | None = None  # "prov-json" | "prov-o" | None (unreadable)
    entities: dict[str, Entity] = field(default_factory=dict)
    activities: dict[str, str] = field(default_factory=dict)  # id -> pointer
    generations: list[tuple[str, str, str]] = field(default_factory=list)  # entity, act, ptr
    usages: set[tuple[str, str]] = field(default_factory=set)  # activity, entity
    derivations: list[tuple[str, str]] = field(default_factory=list)  # generated, used
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # code, ptr, msg
    prefixes: dict[str, str] = field(default_factory=lambda: dict(_DEFAULT_PREFIXES))

    def expand(self, name: str) -> str:
        """A compact id as a spec writes it ("kfm:run/x") to the full IRI of the model."""
        prefix, sep, rest = name.partition(":")
        if sep and not rest.startswith("//") and prefix in self.prefixes:
            return self.prefixes[prefix] + rest
        return name

    def generated_by(self, entity_id: str) -> list[str]:
        """Activities that generated `entity_id` (empty: nothing claims to have made it)."""
        want = self.expand(entity_id)
        return sorted({a for e, a, _ in self.generations if e == want})

    def entity(self, entity_id: str) -> Entity | None:
        return self.entities.get(self.expand(entity_id))

    def has_activity(self, activity_id: str) -> bool:
        return self.expand(activity_id) in self.activities


def inspect(data: Any, doc_rel: str = "prov.json", store: Any = None) -> ProvGraph:
    graph = ProvGraph()
    try:
        doc, sources, fmt = read(data, doc_rel, store)
    except ProvReadError as e:
        graph.problems.append((e.code, e.pointer, e.message))
        return graph
    graph.format = fmt
    for ns in doc.get_registered_namespaces():
        graph.prefixes.setdefault(ns.prefix, ns.uri)
    _model(doc, sources, graph, doc_rel)
    _check(graph, "/@graph" if fmt == "prov-o" else "")
    return graph


def _model(doc: Any, src: Sources, graph: ProvGraph, doc_rel: str) -> None:
    from prov.model import (
        PROV_ATTR_ACTIVITY,
        PROV_ATTR_ENTITY,
        PROV_ATTR_GENERATED_ENTITY,
        PROV_ATTR_USED_ENTITY,
        PROV_LOCATION,
        ProvActivity,
        ProvDerivation,
        ProvEntity,
        ProvGeneration,
        ProvUsage,
    )

    loc_key = "prov:atLocation" if graph.format == "prov-o" else "prov:location"
    def ident(qn: Any) -> str:
        return unbase(iri(qn), doc_rel)

    for rec in doc.get_records(ProvEntity):
        eid = ident(rec.identifier)
        ptr = src.nodes.get(eid, "")
        locs = [unbase(str(v.uri), doc_rel) if hasattr(v, "uri") else str(v)
                for v in rec.get_attribute(PROV_LOCATION)]
        digests = [str(v) for k, v in rec.attributes if str(getattr(k, "uri", k)) == _DIGEST]
        graph.entities[eid] = Entity(eid, ptr, locs[0] if len(locs) == 1 else
                                     (locs or None), digests[0] if len(digests) == 1 else None,
                                     f"{ptr}/{loc_key}")
    for rec in doc.get_records(ProvActivity):
        aid = ident(rec.identifier)
        graph.activities[aid] = src.nodes.get(aid, "")
    for rec in doc.get_records(ProvGeneration):
        ent, act = _attr(rec, PROV_ATTR_ENTITY, doc_rel), _attr(rec, PROV_ATTR_ACTIVITY, doc_rel)
        if ent and act:
            ptr = src.relations.get(("wasGeneratedBy", ent, act), src.nodes.get(ent, ""))
            graph.generations.append((ent, act, ptr))
    for rec in doc.get_records(ProvUsage):
        act, ent = _attr(rec, PROV_ATTR_ACTIVITY, doc_rel), _attr(rec, PROV_ATTR_ENTITY, doc_rel)
        if ent and act:
            graph.usages.add((act, ent))
    for rec in doc.get_records(ProvDerivation):
        gen = _attr(rec, PROV_ATTR_GENERATED_ENTITY, doc_rel)
        used = _attr(rec, PROV_ATTR_USED_ENTITY, doc_rel)
        if gen and used:
            graph.derivations.append((gen, used))
    graph.generations.sort()
    graph.derivations.sort()


def _attr(rec: Any, name: Any, doc_rel: str) -> str | None:
    values = [v for k, v in rec.formal_attributes if k == name and v is not None]
    return unbase(iri(values[0]), doc_rel) if values else None


def _check(graph: ProvGraph, section: str) -> None:
    """KFM requirements on the model (dangling relations would claim provenance for
    something the bundle never describes)."""
    def problem(ptr: str, msg: str) -> None:
        graph.problems.append(("D.prov_invalid", ptr, f"KFM PROV profile: {msg}"))

    if not graph.activities:
        problem(section, "no activity: the run that produced the artifacts must be one")
    if not graph.generations:
        problem(section, "no generation: artifacts must be generated by an activity "
                         "(wasGeneratedBy)")
    for ent, act, ptr in graph.generations:
        if ent not in graph.entities:
            problem(ptr, f"generation refers to undeclared entity {ent!r}")
        if act not in graph.activities:
            problem(ptr, f"generation refers to undeclared activity {act!r}")
    for gen, used in graph.derivations:
        makers = graph.generated_by(gen)
        if makers and not any((act, used) in graph.usages for act in makers):
            made = graph.entities.get(gen)
            problem(made.pointer if made else section,
                    f"{gen} was derived from {used}, but no activity that generated it "
                    f"({', '.join(makers)}) used it (prov:used)")
