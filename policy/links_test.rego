package kfm.promote_test

other := "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

test_hash_link_missing_fires_for_each_required_link if {
	every kind in ["dcat", "prov", "receipt", "stac"] {
		paths(with_value(sprintf("/artifacts/1/links/%s", [kind]), null), "F.hash_link_missing") == {sprintf("artifacts[1].links.%s", [kind])}
	}
}

test_hash_link_missing_quiet_for_stac_of_non_spatial if {
	not "F.hash_link_missing" in codes(good)
	good.artifacts[0].links.stac == null
}

test_hash_link_missing_fires_for_missing_artifact_file if {
	paths(with_value("/artifacts/0/digest", null), "F.hash_link_missing") == {"artifacts[0].digest"}
}

test_hash_link_missing_fires_for_no_artifacts if {
	paths(with_value("/artifacts", []), "F.hash_link_missing") == {"artifacts"}
}

test_hash_link_mismatch_fires_for_each_link if {
	every kind in ["dcat", "prov", "receipt", "stac"] {
		paths(with_value(sprintf("/artifacts/1/links/%s", [kind]), other), "F.hash_link_mismatch") == {sprintf("artifacts[1].links.%s", [kind])}
	}
}

test_hash_link_mismatch_fires_for_optional_stac_link_too if {
	paths(with_value("/artifacts/0/links/stac", other), "F.hash_link_mismatch") == {"artifacts[0].links.stac"}
}

test_hash_link_mismatch_quiet_when_links_agree if {
	not "F.hash_link_mismatch" in codes(good)
	not "F.hash_link_mismatch" in codes(with_value("/artifacts/0/links/stac", good.artifacts[0].digest))
}
