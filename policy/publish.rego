# Publish destinations: where `promote --publish-to URI` may copy a version's artifacts.
#
# The capsule's optional `publish` names the requested root (`publish.to`) and the exact
# destination URI of every object (`publish.objects[].uri`, always
# `<to>/<slug>/<dataset_version_id>/<relative path>`). Each must lie under one of the URI
# prefixes an organisation lists at `data.kfm.publish_prefixes` in its policy directory
# (read from the base branch, like the stewards). None listed: every publish is denied.
# Matching is by whole path segments: the prefix `s3://lake/processed` allows
# `s3://lake/processed/x` but never `s3://lake/processed-evil/x`. URIs with empty, "." or
# ".." segments, backslashes or percent-escapes never match, so no prefix can be walked
# out of; the store layer re-parses every key the same way before it writes.
package kfm.promote

deny contains {
	"code": "F.publish_prefix_not_allowed",
	"message": sprintf("publish destination %s is not under an allowed prefix (data.kfm.publish_prefixes: %s)", [text(to), prefix_list]),
	"path": "publish.to",
} if {
	is_object(input.publish)
	to := object.get(input.publish, "to", null)
	not publish_allowed(to)
}

deny contains {
	"code": "F.publish_prefix_not_allowed",
	"message": sprintf("publish destination %s is not under an allowed prefix (data.kfm.publish_prefixes: %s)", [text(uri), prefix_list]),
	"path": sprintf("publish.objects[%d].uri", [i]),
} if {
	is_object(input.publish)
	some i, o in array_or_empty(object.get(input.publish, "objects", []))
	uri := object.get(object_or_empty(o), "uri", null)
	not publish_object_allowed(uri)
}

deny contains {
	"code": "F.publish_prefix_not_allowed",
	"message": "publish.objects is not a list of destinations",
	"path": "publish.objects",
} if {
	is_object(input.publish)
	not is_array(object.get(input.publish, "objects", null))
}

publish_prefixes := [p |
	some p in configured_prefixes
	is_string(p)
	uri_safe(trim_suffix(p, "/"))
]

configured_prefixes := data.kfm.publish_prefixes if is_array(data.kfm.publish_prefixes)
else := []

prefix_list := concat(", ", publish_prefixes) if count(publish_prefixes) > 0
else := "none set"

# The publish root itself: equal to an allowed prefix or below it.
publish_allowed(u) if {
	is_string(u)
	uri_safe(u)
	some p in publish_prefixes
	base := trim_suffix(p, "/")
	under_or_equal(u, base)
}

# An object: strictly below an allowed prefix, and below the requested root.
publish_object_allowed(u) if {
	is_string(u)
	uri_safe(u)
	publish_allowed(input.publish.to)
	startswith(u, concat("", [trim_suffix(input.publish.to, "/"), "/"]))
	some p in publish_prefixes
	startswith(u, concat("", [trim_suffix(p, "/"), "/"]))
}

under_or_equal(u, base) if u == base

under_or_equal(u, base) if startswith(u, concat("", [base, "/"]))

# scheme://container[/key...] with no empty, "." or ".." segment, no backslash, no
# percent-escape and no query or fragment.
uri_safe(u) if {
	is_string(u)
	parts := split(u, "://")
	count(parts) == 2
	regex.match(`^[a-z][a-z0-9+.-]*$`, parts[0])
	not contains(u, "\\")
	not contains(u, "%")
	not contains(u, "?")
	not contains(u, "#")
	every seg in split(parts[1], "/") {
		not seg in {"", ".", ".."}
	}
}
