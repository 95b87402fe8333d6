package kfm.promote_test

publish_root := "s3://kfm-lake/processed"

publish_objects(root) := [{"path": a.path, "uri": concat("/", [root, "kansas_river_gauges", version_id, a.path])} |
	some a in good.artifacts
]

with_publish(root) := json.patch(good, [{"op": "add", "path": "/publish", "value": {"to": root, "objects": publish_objects(root)}}])

decide_with_prefixes(capsule, prefixes) := d if {
	d := data.kfm.promote.decision with input as capsule
		with data.kfm.stewards as stewards
		with data.kfm.publish_prefixes as prefixes
}

publish_codes(capsule, prefixes) := {r.code | some r in decide_with_prefixes(capsule, prefixes).deny}

publish_paths(capsule, prefixes) := {r.path |
	some r in decide_with_prefixes(capsule, prefixes).deny
	r.code == "F.publish_prefix_not_allowed"
}

test_publish_prefix_not_allowed_is_quiet_under_an_allowed_prefix if {
	every prefixes in [["s3://kfm-lake/processed"], ["s3://kfm-lake/processed/"], ["s3://kfm-lake"], ["gs://other/x", "s3://kfm-lake/processed"]] {
		not "F.publish_prefix_not_allowed" in publish_codes(with_publish(publish_root), prefixes)
		decide_with_prefixes(with_publish(publish_root), prefixes).allow == true
	}
	# a root below the prefix is fine too
	not "F.publish_prefix_not_allowed" in publish_codes(with_publish("s3://kfm-lake/processed/team"), ["s3://kfm-lake/processed"])
}

test_publish_prefix_not_allowed_fires_when_no_prefix_is_set if {
	"F.publish_prefix_not_allowed" in codes(with_publish(publish_root))
	"F.publish_prefix_not_allowed" in publish_codes(with_publish(publish_root), [])
	"F.publish_prefix_not_allowed" in publish_codes(with_publish(publish_root), "s3://kfm-lake/processed")
	decide_with_prefixes(with_publish(publish_root), []).allow == false
}

test_publish_prefix_not_allowed_is_segment_safe if {
	every root in ["s3://kfm-lake/processed-evil", "s3://kfm-lake/processedx", "s3://kfm-lake/proc", "s3://kfm-lake2/processed", "gs://kfm-lake/processed"] {
		publish_paths(with_publish(root), ["s3://kfm-lake/processed"]) == {"publish.to"} | {sprintf("publish.objects[%d].uri", [i]) | some i, _ in good.artifacts}
	}
}

test_publish_prefix_not_allowed_fires_for_traversal_and_odd_uris if {
	every root in [
		"s3://kfm-lake/processed/../raw",
		"s3://kfm-lake/processed//x",
		"s3://kfm-lake/processed/./x",
		"s3://kfm-lake/processed/%2e%2e/raw",
		"s3://kfm-lake/processed\\x",
		"s3://kfm-lake/processed/x?y=1",
		"kfm-lake/processed",
		"",
	] {
		"F.publish_prefix_not_allowed" in publish_codes(with_publish(root), ["s3://kfm-lake/processed"])
	}
	# a prefix that itself walks out of its segment never allows anything
	"F.publish_prefix_not_allowed" in publish_codes(with_publish("s3://kfm-lake/raw/x"), ["s3://kfm-lake/processed/../raw"])
}

test_publish_prefix_not_allowed_fires_for_an_object_outside_the_root if {
	capsule := json.patch(with_publish(publish_root), [{"op": "add", "path": "/publish/objects/-", "value": {"path": "x", "uri": "s3://kfm-lake/processed-evil/x"}}])
	publish_paths(capsule, ["s3://kfm-lake/processed"]) == {"publish.objects[2].uri"}
	other := json.patch(with_publish(publish_root), [{"op": "add", "path": "/publish/objects/-", "value": {"path": "x", "uri": "s3://kfm-lake/processed2/x"}}])
	publish_paths(other, ["s3://kfm-lake/processed", "s3://kfm-lake/processed2"]) == {"publish.objects[2].uri"}
	bad := json.patch(with_publish(publish_root), [{"op": "replace", "path": "/publish/objects", "value": "s3://x"}])
	publish_paths(bad, ["s3://kfm-lake/processed"]) == {"publish.objects"}
}

test_publish_prefix_not_allowed_is_quiet_without_publish if {
	not "F.publish_prefix_not_allowed" in codes(good)
	not "F.publish_prefix_not_allowed" in publish_codes(good, [])
}
