package kfm.promote_test

test_gate_failed_fires_for_each_gate if {
	every idx in numbers.range(0, 5) {
		c := json.patch(good, [
			{"op": "replace", "path": sprintf("/gates/%d/status", [idx]), "value": "fail"},
			{"op": "replace", "path": sprintf("/gates/%d/reasons", [idx]), "value": [{"code": "X.broken", "message": "m", "path": "", "pointer": ""}]},
		])
		paths(c, "F.gate_failed") == {sprintf("gates[%d]", [idx])}
	}
}

test_gate_failed_message_lists_reason_codes if {
	c := json.patch(good, [
		{"op": "replace", "path": "/gates/1/status", "value": "fail"},
		{"op": "replace", "path": "/gates/1/reasons", "value": [
			{"code": "B.license_unclear", "message": "m", "path": "", "pointer": ""},
			{"code": "B.attribution_missing", "message": "m", "path": "", "pointer": ""},
		]},
	])
	some r in decide(c).deny
	r.code == "F.gate_failed"
	r.message == "gate B failed: B.attribution_missing, B.license_unclear"
}

test_gate_failed_quiet_for_pass_and_skip if {
	c := with_value("/gates/5/status", "skip")
	not "F.gate_failed" in codes(c)
	not "F.gate_failed" in codes(good)
}

test_gate_missing_fires_when_a_gate_is_absent if {
	c := json.patch(good, [{"op": "remove", "path": "/gates/4"}])
	"F.gate_missing" in codes(c)
	some r in decide(c).deny
	r.message == "gate E did not report a result"
}

test_gate_missing_fires_for_not_run if {
	"F.gate_missing" in codes(with_value("/gates/0/status", "not_run"))
}

test_gate_missing_fires_for_no_gates if {
	count({r | some r in decide(with_value("/gates", [])).deny; r.code == "F.gate_missing"}) == 6
}

test_gate_missing_quiet_when_all_report if {
	not "F.gate_missing" in codes(good)
}
