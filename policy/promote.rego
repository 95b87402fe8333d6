# KFM Promotion Contract policy (Rego v1).
#
# Input: the promotion capsule (schemas/promote_capsule.schema.json), nothing else.
# Output: data.kfm.promote.decision = {allow, quarantine, deny, pending}.
# Fail closed: allow is false unless it is derived, and only when deny is empty.
package kfm.promote

tables := data.kfm.tables

default allow := false

allow if {
	count(deny) == 0
	input.capsule_version == "v1"
}

default quarantine := false

quarantine if input.quarantine.active == true

quarantine if {
	some g in input.gates
	g.id in {"B", "C"}
	g.status == "fail"
}

quarantine if {
	some g in input.gates
	g.id in object.get(input, "quarantine_on", [])
	g.status == "fail"
}

# --- deny rules: each names a stable code and the capsule field that caused it ---

deny contains {"code": "F.gate_failed", "message": sprintf("gate %s failed: %s", [g.id, concat(", ", codes)]), "path": sprintf("gates[%d]", [i])} if {
	some i, g in input.gates
	g.status == "fail"
	codes := sort([r.code | some r in g.reasons])
}

deny contains {"code": "F.gate_missing", "message": sprintf("gate %s did not report a result", [id]), "path": "gates"} if {
	some id in {"A", "B", "C", "D", "E"}
	not gate_reported(id)
}

gate_reported(id) if {
	some g in input.gates
	g.id == id
	g.status in {"pass", "skip"}
}

gate_reported(id) if {
	some g in input.gates
	g.id == id
	g.status == "fail"
}

deny contains {"code": "F.quarantine_active", "message": sprintf("dataset is under an active quarantine (%s)", [object.get(input.quarantine, "reason_code", "unknown")]), "path": "quarantine"} if {
	input.quarantine.active == true
}

# --- the single entry point ---

decision := {
	"allow": allow,
	"quarantine": quarantine,
	"deny": deny,
	"pending": pending,
}

pending := set()
