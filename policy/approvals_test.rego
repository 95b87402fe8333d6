package kfm.promote_test

approval(principal) := {"role": "steward", "principal": principal, "approved_at": "2026-03-01T12:00:00Z"}

test_approval_missing_fires_at_promote_without_approvals if {
	c := with_value("/approvals", [])
	paths(c, "F.approval_missing") == {"approvals"}
	count(decide(c).pending) == 0
}

test_approval_missing_fires_for_unknown_principal if {
	"F.approval_missing" in codes(with_value("/approvals", [approval("github:mallory")]))
}

test_approval_missing_fires_for_non_steward_role if {
	c := with_value("/approvals", [{"role": "maintainer", "principal": "github:data-engineer", "approved_at": "2026-03-01T12:00:00Z"}])
	"F.approval_missing" in codes(c)
}

test_approval_missing_fires_for_steward_role_claimed_by_non_steward if {
	"F.approval_missing" in codes(with_value("/approvals", [approval("github:data-engineer")]))
}

test_approval_missing_fires_without_steward_data if {
	d := data.kfm.promote.decision with input as good with data.kfm.stewards as null
	some r in d.deny
	r.code == "F.approval_missing"
	d.allow == false
	d2 := data.kfm.promote.decision with input as good with data.kfm.stewards as {}
	d2.allow == false
}

test_approval_missing_fires_for_two_approval_label_with_one if {
	c := json.patch(good, [
		{"op": "replace", "path": "/policy_label", "value": "restricted"},
		{"op": "replace", "path": "/license/intended_use", "value": "research"},
		{"op": "replace", "path": "/redaction_plan", "value": plan},
		{"op": "replace", "path": "/approvals", "value": [approval("github:kfm-steward"), approval("github:kfm-steward")]},
	])
	codes(c) == {"F.approval_missing"}
}

test_approval_missing_quiet_with_two_distinct_stewards if {
	c := json.patch(good, [
		{"op": "replace", "path": "/policy_label", "value": "restricted"},
		{"op": "replace", "path": "/license/intended_use", "value": "research"},
		{"op": "replace", "path": "/redaction_plan", "value": plan},
		{"op": "replace", "path": "/approvals", "value": [approval("github:kfm-steward"), approval("github:kfm-steward-2")]},
	])
	decide(c).allow == true
}

test_approval_missing_quiet_with_one_steward_for_public if {
	not "F.approval_missing" in codes(good)
}

test_awaiting_approval_is_pending_not_deny_at_check if {
	c := json.patch(good, [
		{"op": "replace", "path": "/stage", "value": "check"},
		{"op": "replace", "path": "/approvals", "value": []},
	])
	d := decide(c)
	d.allow == true
	count(d.deny) == 0
	some p in d.pending
	p.code == "F.awaiting_approval"
	startswith(p.message, "would deny: awaiting steward approval")
}

test_awaiting_approval_quiet_at_check_when_approved if {
	count(decide(with_value("/stage", "check")).pending) == 0
}
