# Shared test fixtures: a capsule that passes every rule at the promote stage, the
# steward data an organisation would provide, and helpers to mutate and inspect.
# (Rules are referenced by full path, not through `import data.kfm.promote`: regorus
# 0.13 loses `with input as` inside functions that go through an import alias.)
package kfm.promote_test

d_csv := "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

d_geo := "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

d_qa := "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

version_id := "2026-02.0123456789ab"

good := {
	"capsule_version": "v1",
	"stage": "promote",
	"identity": {
		"dataset_slug": "kansas_river_gauges",
		"version_label": "2026-02",
		"dataset_version_id": version_id,
		"spec_hash": "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
	},
	"gates": [{"id": id, "title": id, "status": "pass", "reasons": []} |
		some id in ["A", "B", "C", "D", "E", "G"]
	],
	"license": {
		"spdx": "CC-BY-4.0",
		"rights_holder": "U.S. Geological Survey",
		"attribution": "Data: USGS",
		"intended_use": "public_web",
		"dnf": [["CC-BY-4.0"]],
	},
	"policy_label": "public",
	"redaction_plan": null,
	"artifacts": [
		{
			"path": "processed/gauges.csv", "media_type": "text/csv", "spatial": false,
			"digest": d_csv,
			"links": {"dcat": d_csv, "stac": null, "prov": d_csv, "receipt": d_csv},
		},
		{
			"path": "processed/gauges.geojson", "media_type": "application/geo+json",
			"spatial": true, "digest": d_geo,
			"links": {"dcat": d_geo, "stac": d_geo, "prov": d_geo, "receipt": d_geo},
		},
	],
	"catalogs": [],
	"receipts": [],
	"evidence": [{"uri": "qa/report.json", "digest": d_qa, "resolved": true, "detail": null}],
	"quarantine": {"active": false, "reason_code": null, "record": null},
	"quarantine_on": [],
	"approvals": [{"role": "steward", "principal": "github:kfm-steward", "approved_at": "2026-03-01T12:00:00Z"}],
	"destinations": [
		"entries/00/000001.json",
		concat("", ["datasets/kansas_river_gauges/", version_id, "/manifest.json"]),
		"datasets/kansas_river_gauges/README.md",
		"published/kansas_river_gauges.json",
		concat("", ["refs/tags/kfm/kansas_river_gauges/", version_id]),
	],
}

stewards := {
	"github:kfm-steward": {"roles": ["steward"]},
	"github:kfm-steward-2": {"roles": ["steward"]},
	"github:data-engineer": {"roles": ["maintainer"]},
}

# decision for a capsule, with the organisation's steward data in place
decide(capsule) := d if {
	d := data.kfm.promote.decision with input as capsule with data.kfm.stewards as stewards
}

codes(capsule) := {r.code | some r in decide(capsule).deny}

paths(capsule, code) := {r.path |
	some r in decide(capsule).deny
	r.code == code
}

# a copy of the good capsule with one JSON-pointer path replaced
with_value(path, value) := json.patch(good, [{"op": "replace", "path": path, "value": value}])

test_good_capsule_is_allowed if {
	d := decide(good)
	d.allow == true
	count(d.deny) == 0
	count(d.pending) == 0
	d.quarantine == false
}
