"""Turn an engine's raw output into a `Decision`, failing closed on anything unexpected.

Explain: each deny names the rule's stable code, its message and the capsule field path
that caused it; the record adds the capsule's value at that path, so an auditor reading
decision.json sees *what* was judged without replaying anything.

`allow` must be literally `true` (note `opa eval --fail` treats a defined `false` as
success, so the whole document is read, never an exit code). A malformed document, an
undefined result or an engine failure becomes a deny with `F.engine_error`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from promote_action.policy.bundle import PolicyBundle
from promote_action.policy.engines import Engine, EngineFailure
from promote_action.spec import canonical_digest

RECORD_VERSION = "v1"
_PATH_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


@dataclass(frozen=True)
class PolicyReason:
    code: str
    message: str
    path: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "path": self.path}


@dataclass
class Decision:
    allow: bool
    quarantine: bool
    deny: list[PolicyReason]
    pending: list[PolicyReason] = field(default_factory=list)
    engine: str = ""
    input_digest: str = ""
    policy_digest: str = ""
    policy_files: dict[str, str] = field(default_factory=dict)
    explain: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """pass | quarantine | deny: the three outcomes the contract names."""
        if self.allow and not self.deny:
            return "pass"
        return "quarantine" if self.quarantine else "deny"

    def result_json(self) -> dict[str, Any]:
        return {"allow": self.allow, "quarantine": self.quarantine,
                "deny": [r.to_json() for r in self.deny],
                "pending": [r.to_json() for r in self.pending]}

    @property
    def decision_id(self) -> str:
        """Content address of (input, policy, result): same inputs, same id, no clock."""
        digest = canonical_digest({"input_digest": self.input_digest,
                                   "policy_bundle_digest": self.policy_digest,
                                   "result": self.result_json()})
        return f"kfm://policy_decision/{digest}"

    def record(self) -> dict[str, Any]:
        """The decision record written as decision.json (engine named, but not hashed,
        so both engines give the same id for the same decision)."""
        return {
            "decision_record_version": RECORD_VERSION,
            "decision_id": self.decision_id,
            "input_digest": self.input_digest,
            "policy_bundle_digest": self.policy_digest,
            "policy_files": dict(sorted(self.policy_files.items())),
            "engine": self.engine,
            "outcome": self.outcome,
            "result": self.result_json(),
            "explain": self.explain,
        }


def _reasons(value: Any, what: str) -> list[PolicyReason]:
    if not isinstance(value, list):
        raise EngineFailure(f"decision.{what} is not a list")
    out = []
    for r in value:
        if not isinstance(r, dict) or not all(isinstance(r.get(k), str)
                                              for k in ("code", "message", "path")):
            raise EngineFailure(f"decision.{what} has an entry without code/message/path")
        out.append(PolicyReason(r["code"], r["message"], r["path"]))
    return sorted(set(out), key=lambda x: (x.code, x.path, x.message))


def normalize(raw: Any) -> tuple[bool, bool, list[PolicyReason], list[PolicyReason]]:
    if not isinstance(raw, dict):
        raise EngineFailure("decision is not an object")
    allow = raw.get("allow")
    quarantine = raw.get("quarantine")
    if not isinstance(allow, bool) or not isinstance(quarantine, bool):
        raise EngineFailure("decision.allow / decision.quarantine are not booleans")
    deny = _reasons(raw.get("deny"), "deny")
    pending = _reasons(raw.get("pending", []), "pending")
    return allow is True, quarantine, deny, pending


def evaluate(bundle: PolicyBundle, capsule: dict[str, Any], engine: Engine) -> Decision:
    """Evaluate and normalize; any engine failure is a deny (fail closed), never an allow."""
    input_digest = canonical_digest(capsule)
    try:
        allow, quarantine, deny, pending = normalize(engine.evaluate(bundle, capsule))
    except EngineFailure as e:
        allow, quarantine, deny, pending = (
            False, False, [PolicyReason("F.engine_error", str(e), "")], [])
    if allow and deny:  # a policy that allows while denying is broken: deny
        allow = False
    return Decision(allow, quarantine, deny, pending, engine.name, input_digest, bundle.digest,
                    dict(bundle.files), explain(capsule, deny))


def explain(capsule: dict[str, Any], deny: list[PolicyReason]) -> list[dict[str, Any]]:
    """Per deny: code, message, the capsule path, and the value found there."""
    out = []
    for r in deny:
        found, value = value_at(capsule, r.path)
        out.append({"code": r.code, "message": r.message, "path": r.path,
                    "value_present": found, "value": value if found else None})
    return out


def value_at(doc: Any, path: str) -> tuple[bool, Any]:
    """Follow a policy path such as ``artifacts[1].links.dcat`` into the capsule."""
    if not path:
        return False, None
    node = doc
    for name, index in _PATH_PART.findall(path):
        if name:
            if not isinstance(node, dict) or name not in node:
                return False, None
            node = node[name]
        else:
            i = int(index)
            if not isinstance(node, list) or i >= len(node):
                return False, None
            node = node[i]
    return True, node
