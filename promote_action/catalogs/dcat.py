"""DCAT (JSON-LD) against the KFM DCAT profile, without a JSON-LD processor.

A conforming JSON-LD processor would fetch remote contexts and expand every term; that
needs the network and makes the result depend on a server. The KFM profile
(`schemas/dcat_kfm.schema.json`) instead fixes one concrete shape: an inline @context that
maps the dcat:, dct:, spdx: and kfm: prefixes, and compact IRIs written with exactly those
prefixes. Real-world DCAT in other shapes (remote contexts, bare terms, dcterms:) loads
fine and is reported as not conforming, with a pointer to what differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from promote_action.safeload import escape_pointer_token as tok
from promote_action.schemas import schema_errors

SCHEMA = "dcat_kfm.schema.json"
DATASET_TYPE = "dcat:Dataset"
_SPDX_URI = re.compile(r"^https?://spdx\.org/licenses/([^\s/?#()]+?)(\.html|\.json)?$")
_OPERATORS = {"AND", "OR", "WITH"}


@dataclass
class DcatView:
    """The dataset node of a DCAT document, and what is wrong with it."""

    node: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""  # JSON pointer of the node in the document ("" or /@graph/<i>)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def pointer(self, *tokens: str | int) -> str:
        return self.prefix + "".join(f"/{tok(str(t))}" for t in tokens)


def types_of(node: dict[str, Any]) -> list[str]:
    t = node.get("@type")
    if isinstance(t, str):
        return [t]
    return [x for x in t if isinstance(x, str)] if isinstance(t, list) else []


def inspect(data: Any) -> DcatView:
    """Find the dcat:Dataset node and validate it against the profile (all problems)."""
    view = DcatView()
    if not isinstance(data, dict):
        view.problems.append(("", "a DCAT document must be a JSON-LD object"))
        return view
    ctx_problem = _context_problem(data.get("@context"))
    if ctx_problem:
        view.problems.append(("/@context", ctx_problem))
    node, prefix = _dataset_node(data, view)
    if node is None:
        return view
    view.node, view.prefix = node, prefix
    candidate = dict(node)
    if "@context" in data:
        candidate["@context"] = data["@context"]
    for pointer, msg in schema_errors(SCHEMA, candidate):
        if pointer.startswith("/@context"):
            if not ctx_problem:
                view.problems.append((pointer, msg))
            continue
        view.problems.append((prefix + pointer, _explain(node, pointer, msg)))
    return view


def _context_problem(context: Any) -> str | None:
    if context is None:
        return ("no @context: the KFM DCAT profile requires an inline context mapping "
                "the dcat:, dct:, spdx: and kfm: prefixes")
    if isinstance(context, str) or (isinstance(context, list)
                                    and any(isinstance(c, str) for c in context)):
        return ("remote JSON-LD context is not fetched (offline); the KFM DCAT profile "
                "requires an inline @context mapping the dcat:, dct:, spdx: and kfm: prefixes")
    return None


def _dataset_node(data: dict[str, Any], view: DcatView) -> tuple[dict[str, Any] | None, str]:
    graph = data.get("@graph")
    if graph is None:
        if DATASET_TYPE not in types_of(data):
            view.problems.append(("/@type", f"the top-level node must have @type "
                                  f"{DATASET_TYPE!r} (found {data.get('@type')!r})"))
            return None, ""
        return data, ""
    if not isinstance(graph, list):
        view.problems.append(("/@graph", "@graph must be an array of nodes"))
        return None, ""
    found = [i for i, n in enumerate(graph) if isinstance(n, dict)
             and DATASET_TYPE in types_of(n)]
    if len(found) != 1:
        seen = sorted({t for n in graph if isinstance(n, dict) for t in types_of(n)})
        view.problems.append(("/@graph", f"expected exactly one node of @type "
                              f"{DATASET_TYPE!r}, found {len(found)} (types present: "
                              f"{', '.join(seen) or 'none'})"))
        return None, ""
    return graph[found[0]], f"/@graph/{found[0]}"


def _explain(node: dict[str, Any], pointer: str, msg: str) -> str:
    """Point out the usual cause of a missing property: another prefix for the same IRI."""
    m = re.match(r"^'([a-z]+):([A-Za-z]+)' is a required property$", msg)
    if not pointer and m:
        local = m.group(2)
        want = f"{m.group(1)}:{local}"
        near = [k for k in node if k != want and k.split(":")[-1] == local]
        if near:
            return (f"{msg} (found {', '.join(repr(k) for k in near)}: the KFM profile "
                    f"requires the '{m.group(1)}:' prefix)")
    return msg if len(msg) <= 240 else msg[:237] + "..."


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
    dists = view.node.get("dcat:distribution")
    if isinstance(dists, dict):
        dists = [dists]
    if not isinstance(dists, list):
        return []
    out = []
    for i, d in enumerate(dists):
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
        out.append((view.pointer("dcat:distribution", i), href_of(d.get("dcat:accessURL")),
                    digest))
    return out
