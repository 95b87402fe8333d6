# Gates A-E and G must each report, and none may have failed.
package kfm.promote

required_gates := {"A", "B", "C", "D", "E", "G"}

deny contains {
	"code": "F.gate_failed",
	"message": sprintf("gate %s failed: %s", [g.id, concat(", ", reason_codes(g))]),
	"path": sprintf("gates[%d]", [i]),
} if {
	some i, g in gates
	g.status == "fail"
}

deny contains {
	"code": "F.gate_missing",
	"message": sprintf("gate %s did not report a result", [id]),
	"path": "gates",
} if {
	some id in required_gates
	not gate_reported(id)
}

gate_reported(id) if {
	some g in gates
	g.id == id
	g.status in {"pass", "skip", "fail"}
}

reason_codes(g) := sort({r.code |
	some r in array_or_empty(g.reasons)
	is_string(r.code)
})
