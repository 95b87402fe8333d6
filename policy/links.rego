# Hash linkage: every artifact's digest must be recorded, identically, by the DCAT
# distribution, the PROV entity, the build receipt and (spatial artifacts) the STAC asset.
package kfm.promote

artifacts := array_or_empty(input.artifacts)

deny contains {
	"code": "F.hash_link_missing",
	"message": "no artifacts: there is nothing whose hash linkage could be checked",
	"path": "artifacts",
} if {
	count(artifacts) == 0
}

deny contains {
	"code": "F.hash_link_missing",
	"message": sprintf("artifact %s has no digest (file missing), so it cannot be linked", [a.path]),
	"path": sprintf("artifacts[%d].digest", [i]),
} if {
	some i, a in artifacts
	not is_string(a.digest)
}

deny contains {
	"code": "F.hash_link_missing",
	"message": sprintf("artifact %s is not linked by %s", [a.path, kind]),
	"path": sprintf("artifacts[%d].links.%s", [i, kind]),
} if {
	some i, a in artifacts
	some kind in required_link_kinds(a)
	not is_string(object.get(object_or_empty(a.links), kind, null))
}

deny contains {
	"code": "F.hash_link_mismatch",
	"message": sprintf("artifact %s: %s records %s but the file hashes to %s", [a.path, kind, claimed, a.digest]),
	"path": sprintf("artifacts[%d].links.%s", [i, kind]),
} if {
	some i, a in artifacts
	is_string(a.digest)
	some kind, claimed in object_or_empty(a.links)
	is_string(claimed)
	claimed != a.digest
}

required_link_kinds(a) := {"dcat", "prov", "receipt", "stac"} if a.spatial == true

required_link_kinds(a) := {"dcat", "prov", "receipt"} if not a.spatial == true
