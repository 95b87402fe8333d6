package kfm.promote_test

test_allow_defaults_to_false_without_input if {
	data.kfm.promote.decision.allow == false with input as {}
}

test_decision_has_the_four_keys if {
	object.keys(decide(good)) == {"allow", "quarantine", "deny", "pending"}
}

test_capsule_unsupported_fires if {
	"F.capsule_unsupported" in codes(with_value("/capsule_version", "v2"))
	decide(with_value("/capsule_version", "v2")).allow == false
}

test_capsule_unsupported_quiet_on_v1 if {
	not "F.capsule_unsupported" in codes(good)
}

test_quarantine_active_fires if {
	c := with_value("/quarantine", {"active": true, "reason_code": "license_unclear", "record": "q.yaml"})
	"F.quarantine_active" in codes(c)
	decide(c).quarantine == true
	decide(c).allow == false
}

test_quarantine_released_is_quiet if {
	c := with_value("/quarantine", {"active": false, "reason_code": "license_unclear", "record": "q.yaml"})
	not "F.quarantine_active" in codes(c)
	decide(c).quarantine == false
}

test_quarantine_flag_when_b_or_c_fails if {
	every idx in [1, 2] {
		c := json.patch(good, [{"op": "replace", "path": sprintf("/gates/%d/status", [idx]), "value": "fail"}])
		decide(c).quarantine == true
	}
}

test_quarantine_flag_for_gates_listed_in_quarantine_on if {
	failed_d := json.patch(good, [{"op": "replace", "path": "/gates/3/status", "value": "fail"}])
	decide(failed_d).quarantine == false
	decide(json.patch(failed_d, [{"op": "replace", "path": "/quarantine_on", "value": ["D"]}])).quarantine == true
}

test_allow_is_false_whenever_deny_is_not_empty if {
	d := decide(with_value("/policy_label", null))
	count(d.deny) > 0
	d.allow == false
}
