"""JSON-LD expansion with pyld, strictly offline, and a flat view of the result.

Contexts come from two places only: the ones the product bundles (the KFM context) and
the repository's reviewed schema directory (lock-checked, the same store as the STAC
extension schemas). Any other remote `@context` or `@import` is an error naming the URL,
never a request. Relative IRIs are resolved against a synthetic base inside a synthetic
root, so `../..` that climbs out of the workspace stays visibly outside after the round
trip (see `unbase`).
"""

from __future__ import annotations

import functools
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from promote_action.errors import Error
from promote_action.resources import data_root

KFM_CONTEXT_URL = "https://kfm.example/ns/context.jsonld"
_ROOT = "https://workspace.kfm.invalid/"
_BASE = _ROOT + "ws/"
# A catalog record of one dataset with a thousand distributions is ~3,000 objects; pyld
# costs ~0.2 ms per object and value, so these bound a hostile document to ~1 s of CPU.
MAX_OBJECTS = 5_000
MAX_VALUES = 50_000
PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
    "spdx": "http://spdx.org/rdf/terms#", "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#", "kfm": "https://kfm.example/ns#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}


class JsonLdProblem(Error):
    """A document that cannot be read as JSON-LD offline; `code` is its gate D reason."""

    def __init__(self, code: str, message: str, pointer: str = "/@context"):
        super().__init__(message)
        self.code = code
        self.pointer = pointer


@functools.cache
def bundled_contexts() -> dict[str, Any]:
    path = data_root("schemas") / "jsonld" / "kfm.context.jsonld"
    return {KFM_CONTEXT_URL: json.loads(path.read_text(encoding="utf-8"))}


def base_of(doc_rel: str) -> str:
    return _BASE + doc_rel


def unbase(iri: str, doc_rel: str) -> str:
    """An IRI resolved against `base_of(doc_rel)` back to the href a producer wrote:
    relative to the document when it is in the workspace, a path climbing out of it
    (so confinement checks still see the escape) when it was above it."""
    if not iri.startswith(_ROOT):
        return iri
    rest = iri[len(_ROOT):]
    doc_dir = posixpath.dirname(doc_rel)
    if rest.startswith("ws/"):
        return posixpath.relpath(rest[3:] or ".", doc_dir or ".")
    return "../" * (doc_rel.count("/") + 1) + rest


@dataclass
class Loader:
    """pyld's document loader: bundled contexts, then the reviewed directory, else refuse."""

    store: Any = None  # SchemaStore | None
    used: list[str] = field(default_factory=list)

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        from promote_action.stac_schemas.store import SchemaUnavailable

        self.used.append(url)
        doc = bundled_contexts().get(url)
        if doc is None and self.store is not None:
            try:
                doc = self.store.contents(url)
            except SchemaUnavailable as e:
                code = "D.jsonld_context_mismatch" if e.mismatch else \
                    "D.jsonld_context_unavailable"
                raise JsonLdProblem(code, f"JSON-LD context {url}: {e.message}") from e
        if doc is None:
            add = (self.store.add_command(url) if self.store is not None
                   else f"kfm-promote schemas add {url}")
            raise JsonLdProblem("D.jsonld_context_unavailable",
                                f"remote JSON-LD context {url} is not available offline "
                                f"(never fetched): review it and run `{add}`, or inline it")
        return {"contextUrl": None, "documentUrl": url, "document": doc}


def _size(data: Any) -> tuple[int, int]:
    """(JSON objects, all values) in a document."""
    objects, values, stack = 0, 0, [data]
    while stack:
        node = stack.pop()
        values += 1
        if isinstance(node, dict):
            objects += 1
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return objects, values


def expand(data: Any, doc_rel: str, store: Any = None) -> list[Any]:
    """Expanded JSON-LD of `data`; raises JsonLdProblem (never a network request)."""
    from pyld import jsonld
    from pyld.context_resolver import ContextResolver

    objects, values = _size(data)
    if objects > MAX_OBJECTS or values > MAX_VALUES:
        raise JsonLdProblem("D.jsonld_invalid", f"{objects} JSON objects / {values} values: "
                            f"more than a catalog record holds (limits {MAX_OBJECTS} / "
                            f"{MAX_VALUES})", "")
    loader = Loader(store)
    options = {"base": base_of(doc_rel), "documentLoader": loader,
               # a private cache: a context resolved for one repository is never reused
               # for another (pyld's default cache is process-wide)
               "contextResolver": ContextResolver(jsonld.LRUCache(maxsize=32), loader)}
    try:
        out = jsonld.expand(data, options)
    except jsonld.JsonLdError as e:
        raise _problem(e) from e
    except RecursionError as e:
        raise JsonLdProblem("D.jsonld_invalid", "JSON-LD nesting too deep", "") from e
    return out if isinstance(out, list) else [out]


def _problem(e: Any) -> JsonLdProblem:
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, JsonLdProblem):
            return cur
        nxt = getattr(cur, "cause", None) or cur.__cause__ or cur.__context__
        cur = nxt if isinstance(nxt, BaseException) else None
    first = e.args[0] if getattr(e, "args", None) else None
    msg = " ".join(str(first if isinstance(first, str) else e).split())
    code = getattr(e, "code", None)
    details = getattr(e, "details", None)
    url = details.get("url") if isinstance(details, dict) else None
    if code:
        msg = f"{msg} ({code}{', ' + str(url) if isinstance(url, str) else ''})"
    in_context = "context" in str(code or "") or "context" in str(getattr(e, "type", ""))
    return JsonLdProblem("D.jsonld_invalid", f"not valid JSON-LD: {msg[:240]}",
                         "/@context" if in_context else "")


def flatten(expanded: list[Any]) -> list[dict[str, Any]]:
    """Every node once, with references between them (pyld's node map), deterministic."""
    from pyld import jsonld

    flat = jsonld.flatten(expanded, None, {"documentLoader": Loader()})
    return [n for n in flat if isinstance(n, dict)] if isinstance(flat, list) else []


def compact_iri(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def to_rdf(expanded: list[Any]) -> dict[str, Any]:
    """pyld's RDF dataset (graph name -> triples); relative IRIs were made absolute by
    `expand`, so nothing is dropped."""
    from pyld import jsonld

    out = jsonld.to_rdf(expanded, {"documentLoader": Loader()})
    return out if isinstance(out, dict) else {}
