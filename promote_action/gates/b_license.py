"""Gate B — licensing and rights.

A dataset may only be published when we can show where it came from and on what terms:
each source's registry entry (publisher, access URL, terms, a snapshot of the license text
whose digest matches the bytes) ships in the dataset directory, and the spec states an
explicit SPDX license that the intended use and the sensitivity label allow. Anything
unclear fails the gate, and the policy turns a failed B into QUARANTINE.

Which licenses each use allows, and which uses each label allows, are policy data
(`licenses_by_use`, `label_allows_use` in policy/data.json): the same tables Rego reads,
so Python and policy can never disagree about them.
"""

from __future__ import annotations

from typing import Any

from promote_action import spdx
from promote_action.errors import MissingFileError
from promote_action.gates.base import GateContext, GateResult, Reason, result
from promote_action.policy.bundle import table
from promote_action.schemas import schema_errors

ID = "B"
TITLE = "License and rights"
SOURCE_SCHEMA = "source_entry.schema.json"


def check(ctx: GateContext) -> GateResult:
    reasons: list[Reason] = []
    check_sources(ctx, reasons)
    ctx.facts["license_dnf"] = check_license(ctx, reasons)
    return result(ID, TITLE, reasons)


# --- sources -----------------------------------------------------------------------------

def check_sources(ctx: GateContext, reasons: list[Reason]) -> None:
    sources = ctx.spec.get("sources")
    if not isinstance(sources, list) or not sources:
        reasons.append(Reason(
            "B.source_entry_missing",
            "spec lists no sources: add sources[{id, entry}] pointing at each upstream's "
            "registry entry (publisher, access_url, terms_url, license_snapshot)",
            ctx.spec_path, "/sources"))
        return
    seen: set[str] = set()
    for i, src in enumerate(sources):
        field = f"/sources/{i}/entry"
        if src["id"] in seen:
            reasons.append(Reason("B.source_entry_invalid",
                                  f"source id {src['id']!r} is listed twice", ctx.spec_path,
                                  f"/sources/{i}/id"))
        seen.add(src["id"])
        doc = ctx.try_load(src["entry"], "B.source_entry_missing", reasons, field=field)
        if doc is None:
            continue
        check_entry(ctx, src, src["entry"], doc.data, reasons)


def check_entry(ctx: GateContext, src: dict[str, Any], rel: str, data: Any,
                reasons: list[Reason]) -> None:
    errors = schema_errors(SOURCE_SCHEMA, data)
    for pointer, msg in errors:
        reasons.append(Reason("B.source_entry_invalid",
                              f"source entry does not match {SOURCE_SCHEMA}: {msg}",
                              rel, pointer))
    if not isinstance(data, dict):
        return
    if isinstance(data.get("id"), str) and data["id"] != src["id"]:
        reasons.append(Reason(
            "B.source_entry_invalid",
            f"source entry id {data['id']!r} does not match the spec's source id "
            f"{src['id']!r}", rel, "/id"))
    if data.get("stability") == "unstable":
        reasons.append(Reason(
            "B.upstream_unstable",
            f"source {src['id']!r} is marked unstable: the upstream cannot be acquired "
            "reproducibly, so the dataset stays in quarantine until it is", rel,
            "/stability"))
    snap = data.get("license_snapshot")
    if isinstance(snap, dict) and isinstance(snap.get("path"), str) and snap["path"]:
        check_snapshot(ctx, rel, snap, reasons)


def check_snapshot(ctx: GateContext, rel: str, snap: dict[str, Any], reasons: list[Reason]
                   ) -> None:
    """The snapshot path is relative to the dataset directory, like every spec path."""
    try:
        actual = ctx.workspace.digest(snap["path"], file=rel, field="/license_snapshot/path")
    except MissingFileError:
        reasons.append(Reason(
            "B.license_snapshot_missing",
            f"license snapshot {snap['path']} does not exist: save the upstream terms as "
            "they were when the data was fetched", rel, "/license_snapshot/path"))
        return
    want = snap.get("digest")
    if isinstance(want, str) and want != actual:
        reasons.append(Reason(
            "B.license_snapshot_mismatch",
            f"license snapshot {snap['path']} has digest {actual}, the entry records {want}",
            rel, "/license_snapshot/digest"))


# --- license -----------------------------------------------------------------------------

def check_license(ctx: GateContext, reasons: list[Reason]) -> list[list[str]] | None:
    """Check the license block; return its DNF for the capsule (None: not an expression)."""
    lic = ctx.spec.get("license")
    where = ctx.spec_path
    if not isinstance(lic, dict):
        reasons.append(Reason(
            "B.license_missing",
            "spec has no license: add license.spdx (SPDX id or expression), "
            "license.rights_holder and license.attribution", where, "/license"))
        _check_use(ctx, None, reasons)
        return None
    for key, code, what in (("rights_holder", "B.rights_holder_missing", "rights holder"),
                            ("attribution", "B.attribution_missing", "attribution text")):
        if not str(lic.get(key) or "").strip():
            reasons.append(Reason(code, f"license.{key} is empty: name the {what}", where,
                                  f"/license/{key}"))
    form, clear = _check_expression(str(lic.get("spdx") or ""), where, reasons)
    # An unclear license is one finding, not also "incompatible" with every use.
    _check_use(ctx, form if clear else None, reasons)
    return form


def _check_expression(text: str, where: str, reasons: list[Reason]
                      ) -> tuple[list[list[str]] | None, bool]:
    """(DNF or None when it is not an expression, whether every term is a clear id)."""
    ptr = "/license/spdx"
    if not text.strip():
        reasons.append(Reason("B.license_missing",
                              "license.spdx is empty: give an SPDX id or expression",
                              where, ptr))
        return None, False
    c = spdx.classify(text)
    if c.error is not None:
        reasons.append(Reason("B.license_unparsable",
                              f"license.spdx {text!r} is not an SPDX expression: {c.error}",
                              where, ptr))
        return None, False
    problems = []
    if c.unclear:
        problems.append(f"{', '.join(c.unclear)} states no license")
    if c.unknown:
        problems.append(f"not on the SPDX License List {spdx.known_ids().list_version}: "
                        f"{', '.join(c.unknown)} (use LicenseRef-… for custom terms)")
    if c.deprecated:
        problems.append(f"deprecated SPDX id(s) {', '.join(c.deprecated)}: use the "
                        "current id that says which terms apply")
    if problems:
        reasons.append(Reason("B.license_unclear",
                              f"license.spdx {text!r} is unclear: {'; '.join(problems)}",
                              where, ptr))
    return c.dnf, not problems


def _check_use(ctx: GateContext, form: list[list[str]] | None, reasons: list[Reason]
               ) -> None:
    """License vs intended use, and intended use vs the sensitivity label."""
    where = ctx.spec_path
    use = ctx.spec.get("intended_use")
    uses = table(ctx.policy_data, "intended_uses") or []
    by_use = table(ctx.policy_data, "licenses_by_use") or {}
    if not isinstance(use, str) or use not in uses or not isinstance(by_use.get(use), list):
        got = "missing" if use is None else repr(use)
        reasons.append(Reason(
            "B.intended_use_unknown",
            f"intended_use is {got}; must be one of: {', '.join(map(str, uses)) or '(none)'}",
            where, "/intended_use"))
        return
    if form is not None and not spdx.satisfiable(form, set(by_use[use])):
        alts = " OR ".join("(" + " AND ".join(a) + ")" for a in form)
        reasons.append(Reason(
            "B.license_incompatible",
            f"no alternative of license {alts} is allowed for intended_use {use!r} "
            "(policy table licenses_by_use)", where, "/license/spdx"))
    label = ctx.spec.get("policy_label")
    allows = table(ctx.policy_data, "label_allows_use") or {}
    if isinstance(label, str) and isinstance(allows.get(label), list) \
            and use not in allows[label]:
        reasons.append(Reason(
            "B.intended_use_not_allowed",
            f"policy_label {label!r} does not allow intended_use {use!r}; allowed: "
            f"{', '.join(allows[label]) or '(none)'} (policy table label_allows_use)",
            where, "/intended_use"))
