# Sensitivity label, redaction plan, and license vs intended use (tables in data.json).
package kfm.promote

deny contains {
	"code": "F.label_missing",
	"message": "policy_label is missing: every dataset needs a sensitivity label",
	"path": "policy_label",
} if {
	not label_present
}

label_present if {
	is_string(input.policy_label)
	input.policy_label != ""
}

deny contains {
	"code": "F.label_unknown",
	"message": sprintf("policy_label %s is not one of the labels in policy data", [input.policy_label]),
	"path": "policy_label",
} if {
	label_present
	not input.policy_label in tables.policy_labels
}

deny contains {
	"code": "F.redaction_plan_missing",
	"message": sprintf("policy_label %s requires a redaction plan", [input.policy_label]),
	"path": "redaction_plan",
} if {
	label_present
	input.policy_label in tables.labels_requiring_redaction
	not redaction_plan_present
}

redaction_plan_present if {
	is_object(input.redaction_plan)
	count(input.redaction_plan) > 0
}

# The license expression arrives in disjunctive normal form (computed by gate B): the
# dataset may be used if some alternative consists only of licenses allowed for the use.
deny contains {
	"code": "F.license_not_allowed",
	"message": sprintf("license %s is not allowed for intended use %s", [text(license.spdx), text(license.intended_use)]),
	"path": "license.dnf",
} if {
	not license_allowed_for_use
}

deny contains {
	"code": "F.license_not_allowed",
	"message": sprintf("intended use %s is not allowed for policy_label %s", [text(license.intended_use), text(input.policy_label)]),
	"path": "license.intended_use",
} if {
	not use_allowed_for_label
}

license := object_or_empty(input.license)

license_allowed_for_use if {
	allowed := array_or_empty(object.get(tables.licenses_by_use, license.intended_use, []))
	some alternative in array_or_empty(license.dnf)
	is_array(alternative)
	count(alternative) > 0
	every id in alternative {
		id in allowed
	}
}

use_allowed_for_label if {
	label_present
	license.intended_use in array_or_empty(object.get(tables.label_allows_use, input.policy_label, []))
}
