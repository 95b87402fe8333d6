# Destinations: a promotion may only write to ledger paths on the allow-list
# (tables.destinations). Patterns use {slug} and {version} (dataset_version_id or
# version_label); a pattern ending in "/" allows that prefix itself (a request to write
# "anything under it", as the ledger writer asks) and every path below it. Paths with
# empty, "." or ".." segments or backslashes never match, so no pattern can be walked
# out of; the ledger writer re-checks each concrete path against the same table.
package kfm.promote

deny contains {
	"code": "F.destination_not_allowed",
	"message": sprintf("destination %s is not on the allow-list", [d]),
	"path": sprintf("destinations[%d]", [i]),
} if {
	some i, d in array_or_empty(input.destinations)
	not destination_allowed(d)
}

destination_allowed(d) if {
	is_string(d)
	destination_safe(d)
	some pattern in tables.destinations
	some version in version_names
	expanded := replace(replace(pattern, "{slug}", input.identity.dataset_slug), "{version}", version)
	destination_matches(d, expanded)
}

version_names contains v if {
	some v in [input.identity.dataset_version_id, input.identity.version_label]
	is_string(v)
	v != ""
}

destination_safe(d) if {
	not contains(d, "\\")
	every part in split(trim_suffix(d, "/"), "/") {
		not part in {"", ".", ".."}
	}
}

destination_matches(d, pattern) if {
	endswith(pattern, "/")
	startswith(d, pattern)
}

destination_matches(d, pattern) if {
	not endswith(pattern, "/")
	d == pattern
}
