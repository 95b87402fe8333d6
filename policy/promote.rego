# KFM Promotion Contract policy (Rego v1): the single entry point.
#
# Input: the promotion capsule (schemas/promote_capsule.schema.json), nothing else.
# Output: data.kfm.promote.decision = {allow, quarantine, deny, pending}.
# Fail closed: allow is false unless it is derived, and only when deny is empty.
#
# The deny rules live beside this file, one concern per module (gates, labels, links,
# approvals, destinations, evidence), all in package kfm.promote. A user policy
# directory (`--policy DIR`) may add `deny contains` rules to this package; sets only
# grow, so a user rule can never remove one of ours.
#
# Every deny entry is {code, message, path}: a stable code, a human message and the
# capsule field that caused it (the "explain" shown in reports and decision.json).
# Rules guard every type they iterate (is_array, is_object) so that the Go engine and
# the embedded engine agree even on malformed capsules (no engine-specific errors).
package kfm.promote

tables := data.kfm.tables

default allow := false

allow if {
	count(deny) == 0
	input.capsule_version == "v1"
}

deny contains {
	"code": "F.capsule_unsupported",
	"message": "capsule_version is not v1: this policy cannot judge it",
	"path": "capsule_version",
} if {
	not input.capsule_version == "v1"
}

# --- quarantine: a flag on top of deny (quarantine is never an allow) ---

default quarantine := false

quarantine if input.quarantine.active == true

quarantine if {
	some g in gates
	g.id in {"B", "C"}
	g.status == "fail"
}

quarantine if {
	some g in gates
	g.id in array_or_empty(input.quarantine_on)
	g.status == "fail"
}

deny contains {
	"code": "F.quarantine_active",
	"message": sprintf("dataset is under an active quarantine (%s)", [text(object.get(input.quarantine, "reason_code", null))]),
	"path": "quarantine",
} if {
	input.quarantine.active == true
}

# --- helpers shared by the rule modules ---

gates := input.gates if is_array(input.gates)
else := []

array_or_empty(x) := x if is_array(x)
else := []

object_or_empty(x) := x if is_object(x)
else := {}

# text renders an optional string for a message; non-strings never reach sprintf %s,
# whose rendering of null/numbers differs between engines.
text(x) := x if {
	is_string(x)
	x != ""
}
else := "none"

# --- the single entry point ---

decision := {
	"allow": allow,
	"quarantine": quarantine,
	"deny": deny,
	"pending": pending,
}
