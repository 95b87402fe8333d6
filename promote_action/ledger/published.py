"""Published objects named by the ledger: offline consistency, and (opt-in) re-hashing.

Offline (`published_problem`, part of every `verify`): a manifest with a
`published_prefix` names `<root>/<slug>/<version>/`, every artifact carries
`published_uri` = prefix + its relative path (the same mapping `promote --publish-to`
uses), and the published pointer written in the same commit names the same prefix; a
manifest without a prefix has no published URIs and its pointer names none.

Online (`check_published_objects`, `verify --artifacts`): every published object of every
promotion (or of one dataset) is streamed through SHA-256 again, and each one missing or
holding other bytes is reported by entry and URI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from promote_action.ledger.query import dataset_versions
from promote_action.ledger.store import LedgerView


def published_problem(manifest: dict[str, Any], pointer: bytes | None) -> str | None:
    """Why the manifest's published fields are inconsistent, or None."""
    arts = manifest.get("artifacts") or []
    prefix = manifest.get("published_prefix")
    point = _pointer_prefix(pointer)
    if prefix is None:
        if any("published_uri" in a for a in arts):
            return "manifest names published_uri without a published_prefix"
        if point is not None:
            return "published pointer names a published_prefix the manifest does not"
        return None
    slug, version = manifest.get("dataset_slug"), manifest.get("dataset_version_id")
    if not isinstance(prefix, str) or not prefix.endswith(f"/{slug}/{version}/"):
        return f"published_prefix {prefix!r} does not end with /{slug}/{version}/"
    from promote_action.errors import Error
    from promote_action.store.publish_plan import relative_paths
    from promote_action.store.uri import parse_uri

    try:
        parse_uri(prefix, allow_http=True, prefix=True)
        rels = relative_paths([a["path"] for a in arts])
    except Error as e:
        return f"published_prefix or artifact paths are not valid: {e.diagnostics()}"
    for a in arts:
        if a.get("published_uri") != prefix + rels[a["path"]]:
            return (f"artifact {a['path']}: published_uri {a.get('published_uri')!r} is not "
                    f"{prefix + rels[a['path']]!r}")
    if pointer is not None and point != prefix:
        return f"published pointer names {point!r}, the manifest {prefix!r}"
    return None


def _pointer_prefix(pointer: bytes | None) -> str | None:
    if pointer is None or b'"published_prefix"' not in pointer:
        return None
    try:
        value = json.loads(pointer).get("published_prefix")
    except (ValueError, AttributeError):
        return "<unreadable pointer>"
    return value if isinstance(value, str) or value is None else repr(value)


@dataclass(frozen=True)
class ObjectFinding:
    seq: int | None
    dataset_slug: str
    dataset_version_id: str
    uri: str
    problem: str  # missing | changed | unreadable
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "dataset_slug": self.dataset_slug,
                "dataset_version_id": self.dataset_version_id, "uri": self.uri,
                "problem": self.problem, "detail": self.detail}


@dataclass(frozen=True)
class ObjectsReport:
    checked: int
    findings: list[ObjectFinding]


def published_objects(view: LedgerView, dataset: str | None = None
                      ) -> list[tuple[int | None, str, str, str, str]]:
    """(seq, slug, version, uri, digest) of every published object on the ledger."""
    out = []
    slugs = [dataset] if dataset else view.list_dir("datasets")
    for slug in slugs:
        for version, vdir in sorted(dataset_versions(view, slug).items()):
            manifest = view.read_json(f"{vdir}/manifest.json")
            if not isinstance(manifest, dict) or "published_prefix" not in manifest:
                continue
            events = view.read_json(f"{vdir}/events.json") or []
            seq = next((e.get("seq") for e in events if e.get("type") == "promotion"), None)
            for a in manifest.get("artifacts", []):
                out.append((seq, slug, version, a["published_uri"], a["digest"]))
    return out


def check_published_objects(view: LedgerView, settings: Any, dataset: str | None = None
                            ) -> ObjectsReport:
    """Re-hash every published object; findings for each missing or changed one."""
    from promote_action.store.digest import hash_objects_detailed
    from promote_action.store.errors import ObjectChangedError, StoreAccessError

    objects = published_objects(view, dataset)
    found = hash_objects_detailed([o[3] for o in objects], settings)
    findings = []
    for seq, slug, version, uri, digest in objects:
        got = found.get(uri)
        if got is None:
            continue
        if isinstance(got, StoreAccessError) and "not found" in got.message:
            findings.append(ObjectFinding(seq, slug, version, uri, "missing",
                                          got.message.removeprefix(f"{uri}: ")))
        elif isinstance(got, ObjectChangedError | StoreAccessError):
            findings.append(ObjectFinding(seq, slug, version, uri, "unreadable",
                                          got.diagnostics().removeprefix(f"{uri}: ")))
        elif isinstance(got, Exception):
            findings.append(ObjectFinding(seq, slug, version, uri, "unreadable", str(got)))
        elif got.digest != digest:
            findings.append(ObjectFinding(seq, slug, version, uri, "changed",
                                          f"reads as {got.digest}, the ledger records "
                                          f"{digest}"))
    return ObjectsReport(len(objects), findings)


__all__ = ["ObjectFinding", "ObjectsReport", "check_published_objects", "published_objects",
           "published_problem"]
