package kfm.promote_test

test_evidence_missing_fires_without_refs if {
	paths(with_value("/evidence", []), "F.evidence_missing") == {"evidence"}
}

test_evidence_missing_quiet_with_a_ref if {
	not "F.evidence_missing" in codes(good)
}

test_evidence_unresolved_fires_per_ref if {
	c := with_value("/evidence", [
		{"uri": "qa/report.json", "digest": d_qa, "resolved": true, "detail": null},
		{"uri": "qa/gone.json", "digest": d_qa, "resolved": false, "detail": "file not found"},
	])
	paths(c, "F.evidence_unresolved") == {"evidence[1]"}
	some r in decide(c).deny
	r.message == "evidence qa/gone.json did not resolve: file not found"
}

test_evidence_unresolved_quiet_when_resolved if {
	not "F.evidence_unresolved" in codes(good)
}
