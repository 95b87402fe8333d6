package kfm.promote_test

plan := {"method": "generalize", "description": "coordinates rounded to 0.1 degree", "prov_activity": "kfm:run/x/redact"}

test_label_missing_fires_for_null_and_empty if {
	"F.label_missing" in codes(with_value("/policy_label", null))
	"F.label_missing" in codes(with_value("/policy_label", ""))
}

test_label_missing_quiet_with_label if {
	not "F.label_missing" in codes(good)
}

test_label_unknown_fires if {
	paths(with_value("/policy_label", "top_secret"), "F.label_unknown") == {"policy_label"}
}

test_label_unknown_quiet_for_known_labels if {
	every label in data.kfm.tables.policy_labels {
		not "F.label_unknown" in codes(with_value("/policy_label", label))
	}
}

test_redaction_plan_missing_fires_for_sensitive_labels if {
	every label in data.kfm.tables.labels_requiring_redaction {
		"F.redaction_plan_missing" in codes(with_value("/policy_label", label))
		"F.redaction_plan_missing" in codes(json.patch(good, [
			{"op": "replace", "path": "/policy_label", "value": label},
			{"op": "replace", "path": "/redaction_plan", "value": {}},
		]))
	}
}

test_redaction_plan_missing_quiet_with_plan_or_public if {
	not "F.redaction_plan_missing" in codes(good)
	c := json.patch(good, [
		{"op": "replace", "path": "/policy_label", "value": "sensitive_location"},
		{"op": "replace", "path": "/redaction_plan", "value": plan},
	])
	not "F.redaction_plan_missing" in codes(c)
}

test_license_not_allowed_fires_for_license_outside_the_use if {
	c := json.patch(good, [
		{"op": "replace", "path": "/license/spdx", "value": "CC-BY-NC-4.0"},
		{"op": "replace", "path": "/license/dnf", "value": [["CC-BY-NC-4.0"]]},
	])
	paths(c, "F.license_not_allowed") == {"license.dnf"}
}

test_license_not_allowed_fires_for_unparsed_or_empty_dnf if {
	paths(with_value("/license/dnf", null), "F.license_not_allowed") == {"license.dnf"}
	paths(with_value("/license/dnf", []), "F.license_not_allowed") == {"license.dnf"}
	paths(with_value("/license/dnf", [[]]), "F.license_not_allowed") == {"license.dnf"}
}

test_license_not_allowed_fires_when_every_conjunct_is_not_allowed if {
	c := with_value("/license/dnf", [["CC-BY-4.0", "CC-BY-NC-4.0"]])
	"F.license_not_allowed" in codes(c)
}

test_license_allowed_when_one_alternative_is if {
	c := with_value("/license/dnf", [["CC-BY-NC-4.0"], ["CC-BY-4.0", "MIT"]])
	not "F.license_not_allowed" in codes(c)
}

test_license_allowed_for_internal_use_of_nc_license if {
	c := json.patch(good, [
		{"op": "replace", "path": "/license/intended_use", "value": "internal_analysis"},
		{"op": "replace", "path": "/license/dnf", "value": [["CC-BY-NC-4.0"]]},
	])
	not "F.license_not_allowed" in codes(c)
}

test_license_not_allowed_fires_for_use_not_allowed_by_label if {
	c := with_value("/policy_label", "internal")
	paths(c, "F.license_not_allowed") == {"license.intended_use"}
}

test_license_not_allowed_fires_for_missing_use if {
	paths(with_value("/license/intended_use", null), "F.license_not_allowed") == {"license.dnf", "license.intended_use"}
}
