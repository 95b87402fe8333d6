"""Quarantine records: a dataset under an active quarantine is never published.

A record (templates/quarantine.yaml, schemas/quarantine.schema.json) names a reason code
from a fixed vocabulary and a remediation plan (owner, due date). The spec points at it
with `quarantine:`; while it is active the policy denies whatever else passes.

A record the spec points at must be readable and valid: a broken or missing record is bad
input (exit 2), never "no quarantine", because reading it wrongly could publish a dataset
a steward meant to hold back.
"""

from __future__ import annotations

from collections.abc import Iterable
from string import Template
from typing import Any

from promote_action.errors import InputError
from promote_action.gates.base import GateContext, GateResult, Status

SCHEMA = "quarantine.schema.json"

# The fixed vocabulary (mirrors the schema's enum; the schema is the authority).
REASON_CODES: dict[str, str] = {
    "license_unclear": "license missing, NOASSERTION/NONE, unknown or not allowed for the "
                       "intended use (gate B)",
    "sensitivity_unclear": "policy_label missing/unknown, or redaction not shown in PROV "
                           "(gate C)",
    "validation_failed": "catalogs, receipts or checksums do not validate (gates D, E, G)",
    "upstream_unstable": "the upstream cannot be acquired reproducibly",
    "rights_dispute": "a rights holder or third party disputes our right to publish",
    "steward_request": "a data steward holds the dataset (see the record's summary)",
}


def load_record(ctx: GateContext, rel: str) -> dict[str, Any]:
    """Load and schema-check the record; raises InputError/SchemaError (exit 2)."""
    from promote_action.schemas import require_valid

    doc = ctx.load(rel, field="/quarantine")
    require_valid(SCHEMA, doc.data, file=rel)
    data: dict[str, Any] = doc.data
    slug = ctx.spec.get("dataset_slug")
    if data["dataset_slug"] != slug:
        raise InputError(f"quarantine record is for dataset {data['dataset_slug']!r}, "
                         f"but the spec is {slug!r}", file=rel, field="/dataset_slug")
    return data


def quarantine_state(ctx: GateContext) -> dict[str, Any]:
    """The capsule's `quarantine` object: {active, reason_code, record}."""
    rel = ctx.spec.get("quarantine")
    if not isinstance(rel, str):
        return {"active": False, "reason_code": None, "record": None}
    data = load_record(ctx, rel)
    return {"active": data["status"] == "active", "reason_code": data["reason_code"],
            "record": rel}


def suggest_reason(results: Iterable[GateResult]) -> str | None:
    """The reason code a new record should carry for these gate results (None: no fail).

    Rights and sensitivity come first because they are what a steward must resolve; an
    unstable upstream is named as such even though gate B reports it.
    """
    failed = {r.id: r for r in results if r.status == Status.FAIL}
    if "B" in failed:
        codes = {x.code for x in failed["B"].reasons}
        return "upstream_unstable" if codes == {"B.upstream_unstable"} else "license_unclear"
    if "C" in failed:
        return "sensitivity_unclear"
    if failed.keys() & {"A", "D", "E", "G"}:
        return "validation_failed"
    return None


def render_template(dataset_slug: str) -> str:
    """templates/quarantine.yaml filled in for one dataset (still to be edited)."""
    from promote_action.resources import data_root

    text = (data_root("templates") / "quarantine.yaml").read_text(encoding="utf-8")
    return Template(text).substitute(dataset_slug=dataset_slug)
