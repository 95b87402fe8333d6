"""SHACL validation with pyshacl against the shapes the product ships.

Shapes are the profile, so they come only from the installed product (`schemas/shacl/`),
never from the repository under review: a PR cannot weaken what it is judged by. Each
violation is reported with its focus node and path, for gate D to turn into a reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from promote_action.resources import data_root

_SH = "http://www.w3.org/ns/shacl#"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True)
class Violation:
    focus: str  # IRI or blank node label
    path: str | None  # property IRI
    message: str
    component: str  # e.g. MinCountConstraintComponent
    value: str | None = None  # the offending value node, when there is one


@functools.cache
def shapes(name: str) -> Any:
    from rdflib import Graph

    g = Graph()
    g.parse(data_root("schemas") / "shacl" / name, format="turtle")
    return g


def graph_from_dataset(dataset: dict[str, Any]) -> Any:
    """An rdflib Graph from pyld's RDF dataset (default graph and named graphs merged),
    keeping pyld's blank node labels so a finding names the same node as the flattened
    JSON-LD (an N-Quads round trip through rdflib would relabel them at random)."""
    from rdflib import BNode, Graph, Literal, URIRef

    def term(t: dict[str, Any]) -> Any:
        if t["type"] == "blank node":
            return BNode(t["value"][2:])
        if t["type"] == "IRI":
            return URIRef(t["value"])
        dt = t.get("datatype")
        lang = t.get("language")
        if lang:
            return Literal(t["value"], lang=lang)
        if dt in (None, _XSD_STRING):  # RDF 1.1: a plain literal *is* an xsd:string
            return Literal(t["value"])
        return Literal(t["value"], datatype=URIRef(dt))

    g = Graph()
    for triples in dataset.values():
        for t in triples:
            g.add((term(t["subject"]), term(t["predicate"]), term(t["object"])))
    return g


def validate(data_graph: Any, shapes_name: str) -> list[Violation]:
    """All violations, sorted (pyshacl's result order is not stable across runs)."""
    from pyshacl import validate as run
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDF

    sh = functools.partial(URIRef)
    _conforms, report, _text = run(data_graph, shacl_graph=shapes(shapes_name),
                                   inference="none", abort_on_first=False,
                                   allow_warnings=False, advanced=False, do_owl_imports=False)
    out = []
    for res in report.subjects(RDF.type, sh(_SH + "ValidationResult")):
        focus = report.value(res, sh(_SH + "focusNode"))
        path = report.value(res, sh(_SH + "resultPath"))
        msg = report.value(res, sh(_SH + "resultMessage"))
        comp = report.value(res, sh(_SH + "sourceConstraintComponent"))
        value = report.value(res, sh(_SH + "value"))
        out.append(Violation(
            focus=_label(focus), path=str(path) if isinstance(path, URIRef) else None,
            message=str(msg) if msg is not None else "violates the profile",
            component=str(comp).rsplit("#", 1)[-1] if comp is not None else "",
            value=_label(value) if value is not None else None))
    # A failed sh:node is reported twice: on the property (focus: the node holding it)
    # and inside (focus: the value). For a value that is a node (a distribution) the
    # inner finding is the specific one; for a literal the outer one names the property.
    nodes = {_label(n) for n in data_graph.all_nodes() if not isinstance(n, Literal)}
    focused = {v.focus for v in out}
    kept = [v for v in out
            if not (v.component == "NodeConstraintComponent" and v.value in focused
                    and v.value in nodes)
            and v.focus in nodes]
    return sorted(set(kept), key=lambda v: (v.focus, v.path or "", v.message, v.component))


def _label(node: Any) -> str:
    from rdflib import BNode

    return f"_:{node}" if isinstance(node, BNode) else str(node)
