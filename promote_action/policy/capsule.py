"""The promotion capsule: the only input the policy ever sees.

Everything the policy may judge is copied in here (identity, every gate result, digests,
hash links, approvals, destinations), so a decision can be replayed from the capsule and
policy bundle alone, and nothing reaches the policy by another road.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promote_action.gates.base import GateContext, GateResult
from promote_action.remote import is_uri

CAPSULE_VERSION = "v1"


@dataclass(frozen=True)
class Approval:
    role: str
    principal: str
    approved_at: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "principal": self.principal, "approved_at": self.approved_at}


def build_capsule(ctx: GateContext, results: Sequence[GateResult], *, stage: str,
                  approvals: Sequence[Approval] = (), destinations: Sequence[str] = (),
                  publish: dict[str, Any] | None = None) -> dict[str, Any]:
    """`publish` (only with `promote --publish-to`): the requested root and the exact
    destination URI of every object, so the policy judges each write it allows."""
    spec = ctx.spec
    raw_license = spec.get("license")
    lic: dict[str, Any] = raw_license if isinstance(raw_license, dict) else {}
    artifacts = []
    for i, a in enumerate(spec.get("artifacts") or []):
        if not isinstance(a, dict) or not isinstance(a.get("path"), str):
            continue
        key = ctx.artifact_key(a["path"], i)
        link = ctx.links.get(key)
        entry: dict[str, Any] = {
            "path": key,
            "media_type": a.get("media_type", ""),
            "spatial": bool(a.get("spatial", False)),
            "digest": link.actual if link else None,
            "links": {
                "dcat": link.dcat if link else None,
                "stac": link.stac if link else None,
                "prov": link.prov if link else None,
                "receipt": link.receipt if link else None,
            },
        }
        if is_uri(key):
            # An object in storage: the pin that publishing must find again (None when it
            # could not be hashed consistently; gate E says why).
            entry["object"] = ctx.remote.describe(key)
        artifacts.append(entry)
    q = ctx.facts.get("quarantine") or {"active": False, "reason_code": None, "record": None}
    capsule: dict[str, Any] = {
        "capsule_version": CAPSULE_VERSION,
        "stage": stage,
        "identity": {
            "dataset_slug": spec.get("dataset_slug"),
            "version_label": spec.get("version_label"),
            "dataset_version_id": ctx.dataset_version_id,
            "spec_hash": ctx.spec_hash,
        },
        "gates": [r.to_json() for r in results],
        "license": {
            "spdx": lic.get("spdx"),
            "rights_holder": lic.get("rights_holder"),
            "attribution": lic.get("attribution"),
            "intended_use": spec.get("intended_use"),
            # SPDX expression in disjunctive normal form, computed by gate B: a list of
            # alternatives, each a list of ids that must all be allowed. None: unparsable.
            "dnf": ctx.facts.get("license_dnf"),
        },
        "policy_label": spec.get("policy_label"),
        "redaction_plan": spec.get("redaction_plan"),
        "artifacts": artifacts,
        "catalogs": ctx.facts.get("catalogs", []),
        "receipts": ctx.facts.get("receipts", []),
        "evidence": ctx.facts.get("evidence", []),
        "quarantine": q,
        "quarantine_on": list(spec.get("quarantine_on") or []),
        "approvals": [a.to_json() for a in approvals],
        "destinations": list(destinations),
    }
    if publish is not None:
        capsule["publish"] = publish
    return capsule
