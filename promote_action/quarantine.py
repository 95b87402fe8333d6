"""Quarantine records: a dataset under an active quarantine is never published.

A record (templates/quarantine.yaml, schemas/quarantine.schema.json) names a reason code
from a fixed vocabulary and a remediation plan (owner, due date). The spec points at it
with `quarantine:`; while it is active the policy denies whatever else passes.
"""

from __future__ import annotations

from typing import Any

from promote_action.gates.base import GateContext


def quarantine_state(ctx: GateContext) -> dict[str, Any]:
    """The capsule's `quarantine` object: {active, reason_code, record}."""
    rel = ctx.spec.get("quarantine")
    if not isinstance(rel, str):
        return {"active": False, "reason_code": None, "record": None}
    doc = ctx.load(rel, field="/quarantine")
    data = doc.data if isinstance(doc.data, dict) else {}
    active = data.get("status", "active") != "released"
    return {"active": active, "reason_code": data.get("reason_code"), "record": rel}
