"""SARIF 2.1.0 for code scanning: one result per gate finding, located in the dataset file.

Rule ids are the stable reason codes, so code scanning tracks a finding across runs; the
rule table is built from the findings themselves (SARIF requires every ruleId to be
declared in the driver).
"""

from __future__ import annotations

import json
from typing import Any

from promote_action import __version__
from promote_action.report.reporters import Locator, _no_line

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"deny": "error", "quarantine": "error", "pass": "note"}


def render_sarif(report: dict[str, Any], *, prefix: str = "", locate: Locator = _no_line,
                 **_: Any) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    level = _LEVEL.get(report["decision"], "error")
    for gate in report["gates"]:
        if gate["status"] != "fail":
            continue
        for r in gate["reasons"]:
            rules.setdefault(r["code"], {
                "id": r["code"],
                "name": r["code"].replace(".", "_"),
                "shortDescription": {"text": f"Gate {gate['id']}: {gate['title']}"},
                "properties": {"gate": gate["id"]},
            })
            path = r["path"] or report["spec_path"]
            result: dict[str, Any] = {
                "ruleId": r["code"],
                "level": level,
                "message": {"text": r["message"]},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f"{prefix}{path}"},
                    "region": {"startLine": locate(path, r["pointer"])},
                }}],
                "partialFingerprints": {
                    "kfmReason/v1": f"{report['dataset_slug']}:{r['code']}:{path}:{r['pointer']}",
                },
            }
            if r["pointer"]:
                result["properties"] = {"jsonPointer": r["pointer"]}
            results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kfm-promote",
                "version": __version__,
                "informationUri": "https://github.com/kfm/kfm-promote",
                "rules": [rules[k] for k in sorted(rules)],
            }},
            "results": results,
            "properties": {
                "decision": report["decision"],
                "dataset_slug": report["dataset_slug"],
                "dataset_version_id": report["dataset_version_id"],
                "spec_hash": report["spec_hash"],
                "decision_id": report["policy"]["decision_id"],
            },
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
