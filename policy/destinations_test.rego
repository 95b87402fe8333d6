package kfm.promote_test

test_destination_not_allowed_fires_outside_the_allow_list if {
	every d in [
		"refs/heads/main",
		"datasets/other_dataset/README.md",
		"published/other_dataset.json",
		"datasets/kansas_river_gauges/2026-01.ffffffffffff/manifest.json",
		"ledger/allowed_signers",
		"entries",
		"published/kansas_river_gauges.json/x",
	] {
		paths(with_value("/destinations", [d]), "F.destination_not_allowed") == {"destinations[0]"}
	}
}

test_destination_not_allowed_fires_for_traversal if {
	every d in [
		"entries/../published/other.json",
		"datasets/kansas_river_gauges/2026-02/../../other/README.md",
		"entries//x.json",
		"entries/./x.json",
		"entries\\x.json",
		"/entries/x.json",
		"",
	] {
		"F.destination_not_allowed" in codes(with_value("/destinations", [d]))
	}
}

test_destination_allowed_for_listed_paths if {
	not "F.destination_not_allowed" in codes(good)
	not "F.destination_not_allowed" in codes(with_value("/destinations", ["datasets/kansas_river_gauges/2026-02/report.json"]))
	not "F.destination_not_allowed" in codes(with_value("/destinations", []))
	# prefixes themselves, as the ledger writer requests them
	prefixes := ["entries/", concat("", ["datasets/kansas_river_gauges/", version_id, "/"])]
	not "F.destination_not_allowed" in codes(with_value("/destinations", prefixes))
}
