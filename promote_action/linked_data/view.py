"""A compact, KFM-prefixed view of one node of an expanded JSON-LD graph, and the way
back from that view to the JSON pointers of the document the producer wrote.

Gate D's cross-link checks read a node as `{"dct:title": …, "dcat:distribution": [{…}]}`
whatever context, prefixes, nesting or `@graph` wrapping the producer used: keys are the
KFM prefixes of the full IRIs, literals are unwrapped, referenced blank nodes are
embedded. Findings still point into the source document where it can be told: named
nodes by their `@id`, properties by the key that expands to the same IRI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from promote_action.linked_data.jsonld import base_of, compact_iri, unbase
from promote_action.safeload import escape_pointer_token as tok

MAX_EMBED_DEPTH = 4


def node_types(node: dict[str, Any]) -> list[str]:
    t = node.get("@type", [])
    return [x for x in (t if isinstance(t, list) else [t]) if isinstance(x, str)]


@dataclass
class Graph:
    """The flattened nodes of one document, by id, plus the document they came from."""

    nodes: dict[str, dict[str, Any]]
    doc_rel: str

    def compact(self, node: dict[str, Any], seen: frozenset[str] = frozenset()) -> dict[str, Any]:
        out: dict[str, Any] = {}
        nid = node.get("@id")
        seen = seen | {nid} if isinstance(nid, str) else seen
        for key, values in node.items():
            if key == "@id":
                out["@id"] = unbase(values, self.doc_rel) if isinstance(values, str) else values
            elif key == "@type":
                ts = [compact_iri(t) for t in node_types(node)]
                out["@type"] = ts[0] if len(ts) == 1 else ts
            elif isinstance(values, list):
                vals = [self._value(v, seen) for v in values]
                out[compact_iri(key)] = vals[0] if len(vals) == 1 else vals
        return out

    def _value(self, v: Any, seen: frozenset[str]) -> Any:
        if not isinstance(v, dict):
            return v
        if "@value" in v:
            return v if "@language" in v else v["@value"]
        if "@list" in v:
            return [self._value(x, seen) for x in v["@list"]]
        ref = v.get("@id")
        if isinstance(ref, str):
            target = self.nodes.get(ref)
            if (target is not None and ref not in seen and len(seen) < MAX_EMBED_DEPTH
                    and (ref.startswith("_:") or len(target) > 1)):
                return self.compact(target, seen)
            return {"@id": unbase(ref, self.doc_rel)}
        return v


@dataclass
class SourceMap:
    """JSON pointers in the source document, found by `@id` and by expanded key."""

    doc_rel: str
    terms: dict[str, str] = field(default_factory=dict)
    ids: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    _depth: int = 0

    @classmethod
    def build(cls, data: Any, doc_rel: str, contexts: list[Any]) -> SourceMap:
        sm = cls(doc_rel)
        for ctx in contexts:
            sm._add_terms(ctx)
        stack: list[tuple[str, Any]] = [("", data)]
        while stack:
            ptr, node = stack.pop()
            if isinstance(node, dict):
                nid = node.get("@id")
                if isinstance(nid, str):
                    sm.ids.setdefault(sm.expand_id(nid), (ptr, node))
                stack.extend((f"{ptr}/{tok(str(k))}", v) for k, v in node.items()
                             if k != "@context")
            elif isinstance(node, list):
                stack.extend((f"{ptr}/{i}", v) for i, v in enumerate(node))
        return sm

    def _add_terms(self, ctx: Any) -> None:
        if isinstance(ctx, list):
            for c in ctx:
                self._add_terms(c)
        elif isinstance(ctx, dict):
            scoped = []
            for term, value in ctx.items():
                iri = value.get("@id") if isinstance(value, dict) else value
                if isinstance(term, str) and isinstance(iri, str) and not term.startswith("@"):
                    self.terms.setdefault(term, iri)
                if isinstance(value, dict) and "@context" in value:
                    scoped.append(value["@context"])
            for inner in scoped:  # type-scoped contexts (DCAT-AP's "Dataset": {"title"…})
                if self._depth < 8:
                    self._depth += 1
                    self._add_terms(inner)
                    self._depth -= 1

    def expand_name(self, name: str) -> str:
        """A key or compact IRI to a full IRI, as far as the inline/known terms tell."""
        for _ in range(4):  # terms defined through other terms ("dct:title")
            if name in self.terms:
                name = self.terms[name]
                continue
            prefix, sep, rest = name.partition(":")
            if sep and not rest.startswith("//") and prefix in self.terms:
                name = self.terms[prefix] + rest
                continue
            break
        return name

    def expand_id(self, nid: str) -> str:
        full = self.expand_name(nid)
        if ":" not in full.split("/", 1)[0]:  # relative: resolved against the base
            return urljoin(base_of(self.doc_rel), full)
        return full

    def pointer_of(self, nid: str) -> tuple[str, dict[str, Any]] | None:
        return self.ids.get(nid) or self.ids.get(unbase(nid, self.doc_rel))

    def key_for(self, node: dict[str, Any], compact: str) -> str | None:
        """The key of `node` (a source object) that means the KFM-prefixed `compact`."""
        want = _full(compact)
        for key in node:
            if isinstance(key, str) and (key == compact or self.expand_name(key) == want):
                return key
        return None


def _full(compact: str) -> str:
    from promote_action.linked_data.jsonld import PREFIXES

    prefix, _, rest = compact.partition(":")
    return PREFIXES[prefix] + rest if prefix in PREFIXES else compact
