"""Gate A — identity and versioning.

The dataset id must be a stable ASCII slug (look-alike Unicode would let two datasets
share a name on screen), and the version id must be the one the spec derives, so a
version id can never be reused for different content.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from promote_action.digests import find_collisions
from promote_action.gates.base import GateContext, GateResult, Reason, result
from promote_action.remote import is_uri
from promote_action.spec import SLUG_RE, VERSION_ID_RE, VERSION_LABEL_RE

ID = "A"
TITLE = "Identity and versioning"


def check(ctx: GateContext) -> GateResult:
    reasons: list[Reason] = []
    spec = ctx.spec
    slug = spec.get("dataset_slug", "")
    label = spec.get("version_label", "")
    where = ctx.spec_path
    if not slug.isascii():
        bad = next(c for c in slug if not c.isascii())
        reasons.append(Reason(
            "A.slug_not_ascii",
            f"dataset_slug contains non-ASCII character U+{ord(bad):04X} "
            f"({unicodedata.name(bad, 'unnamed')}); use a-z, 0-9 and _ only",
            where, "/dataset_slug"))
    elif not SLUG_RE.match(slug):
        reasons.append(Reason(
            "A.slug_invalid",
            f"dataset_slug {slug!r} must match ^[a-z][a-z0-9_]{{2,63}}$", where,
            "/dataset_slug"))
    if not VERSION_LABEL_RE.match(label) or not label.isascii():
        reasons.append(Reason(
            "A.version_label_invalid",
            f"version_label {label!r} must match ^[0-9A-Za-z][0-9A-Za-z._-]{{0,31}}$", where,
            "/version_label"))
    want_slug = ctx.options.expected_slug
    if want_slug is not None and want_slug != slug:
        reasons.append(Reason(
            "A.slug_mismatch",
            f"--dataset-slug {want_slug!r} does not match the spec's dataset_slug {slug!r}",
            where, "/dataset_slug"))
    want_vid = ctx.options.expected_version_id
    if want_vid is not None and want_vid != ctx.dataset_version_id:
        shape = "" if VERSION_ID_RE.match(want_vid) else " (not of the form <label>.<12 hex>)"
        reasons.append(Reason(
            "A.version_id_mismatch",
            f"--dataset-version-id {want_vid!r}{shape} does not match the id the spec "
            f"derives: {ctx.dataset_version_id} (spec_hash {ctx.spec_hash})",
            where, "/version_label"))
    reasons.extend(_path_collisions(ctx))
    return result(ID, TITLE, reasons)


def _declared_paths(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(pointer, path) for every workspace path the spec declares."""
    out: list[tuple[str, str]] = []
    for i, art in enumerate(spec.get("artifacts") or []):
        # Object URIs are not checked out on any filesystem: object keys are
        # case-sensitive, so `s3://b/A.csv` and `s3://b/a.csv` are two objects.
        if isinstance(art, dict) and isinstance(art.get("path"), str) \
                and not is_uri(art["path"]):
            out.append((f"/artifacts/{i}/path", art["path"]))
    raw_cats = spec.get("catalogs")
    cats: dict[str, Any] = raw_cats if isinstance(raw_cats, dict) else {}
    for key in ("dcat", "prov", "stac_collection"):
        if isinstance(cats.get(key), str):
            out.append((f"/catalogs/{key}", cats[key]))
    for i, item in enumerate(cats.get("stac_items") or []):
        if isinstance(item, str):
            out.append((f"/catalogs/stac_items/{i}", item))
    for i, rec in enumerate(spec.get("receipts") or []):
        if isinstance(rec, str):
            out.append((f"/receipts/{i}", rec))
    return out


def _path_collisions(ctx: GateContext) -> list[Reason]:
    """Two declared paths that differ only by case or Unicode normalization are one file
    on macOS/Windows checkouts: which bytes were published would depend on the machine."""
    declared = _declared_paths(ctx.spec)
    pointer_of: dict[str, str] = {}
    for pointer, path in declared:
        pointer_of.setdefault(path, pointer)
    return [Reason("A.path_collision",
                   f"{later!r} and {first!r} name the same file on case-insensitive or "
                   "Unicode-normalizing filesystems; rename one", ctx.spec_path,
                   pointer_of[later])
            for first, later in find_collisions(path for _, path in declared)]
