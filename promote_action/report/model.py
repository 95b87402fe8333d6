"""The validation report: one findings model that every reporter renders.

The report carries no clock and no engine name, so the same dataset and policy give a
byte-identical `report.json` whichever engine ran (the engine is named in decision.json).
"""

from __future__ import annotations

from typing import Any

from promote_action.pipeline import Evaluation

REPORT_VERSION = "v1"


def build_report(ev: Evaluation) -> dict[str, Any]:
    ident = ev.spec.identity
    links = ev.ctx.links
    d = ev.decision
    return {
        "report_version": REPORT_VERSION,
        "decision": ev.outcome,
        "stage": ev.stage,
        "dataset_slug": ident.dataset_slug,
        "version_label": ident.version_label,
        "dataset_version_id": ident.dataset_version_id,
        "spec_hash": ident.spec_hash,
        "spec_path": ev.ctx.spec_path,
        "gates": [r.to_json() for r in ev.results],
        "policy": {
            "decision_id": d.decision_id,
            "policy_bundle_digest": d.policy_digest,
            "input_digest": d.input_digest,
            "allow": d.allow,
            "quarantine": d.quarantine,
            "deny": [r.to_json() for r in d.deny],
            "pending": [r.to_json() for r in d.pending],
        },
        "digests": {
            "artifacts": {p: link.actual for p, link in sorted(links.items())
                          if link.actual is not None},
            "catalogs": {c["path"]: c["digest"] for c in ev.capsule.get("catalogs", [])},
            "receipts": {r["path"]: r["digest"] for r in ev.capsule.get("receipts", [])},
            **_objects(ev),
        },
    }


def _objects(ev: Evaluation) -> dict[str, Any]:
    """Every object in storage the run hashed (artifacts, receipt files, evidence), with
    the pin it was hashed under; absent when the dataset names no object URIs, so reports
    of workspace-only datasets stay as they were."""
    pins = ev.ctx.remote.pins
    if not pins:
        return {}
    return {"objects": {uri: {k: v for k, v in pin.to_json().items() if k != "uri"}
                        for uri, pin in sorted(pins.items())}}
