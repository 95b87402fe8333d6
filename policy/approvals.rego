# Steward approvals. At the promote stage (merge) too few approvals is a deny; at the
# check stage (pull request) approvals cannot exist yet, so the same shortfall is only
# reported as pending ("would deny: awaiting steward approval"), distinct from failures.
#
# An approval counts when its role is a steward role (tables.steward_roles) and its
# principal is a known steward holding that role in data.kfm.stewards, which the
# deploying organisation provides in its own policy directory:
#   {"kfm": {"stewards": {"github:alice": {"roles": ["steward"]}}}}
package kfm.promote

stewards := data.kfm.stewards if is_object(data.kfm.stewards)
else := {}

required_approvals := n if {
	n := tables.approvals_required[input.policy_label]
	is_number(n)
}
else := 1

approving_stewards := {a.principal |
	some a in array_or_empty(input.approvals)
	a.role in tables.steward_roles
	a.role in array_or_empty(object.get(object_or_empty(stewards[a.principal]), "roles", []))
}

approval_shortfall if count(approving_stewards) < required_approvals

deny contains {
	"code": "F.approval_missing",
	"message": sprintf("steward approval missing: %d of %d required for policy_label %s", [count(approving_stewards), required_approvals, text(input.policy_label)]),
	"path": "approvals",
} if {
	approval_shortfall
	not input.stage == "check"
}

pending contains {
	"code": "F.awaiting_approval",
	"message": sprintf("would deny: awaiting steward approval (%d of %d required for policy_label %s)", [count(approving_stewards), required_approvals, text(input.policy_label)]),
	"path": "approvals",
} if {
	approval_shortfall
	input.stage == "check"
}
