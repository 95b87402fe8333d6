# Evidence: at least one EvidenceRef, and every one resolved to bytes with its digest
# (the resolver in promote_action/evidence.py sets `resolved` and `detail`).
package kfm.promote

evidence := array_or_empty(input.evidence)

deny contains {
	"code": "F.evidence_missing",
	"message": "no EvidenceRef: gate F needs at least one resolvable piece of evidence",
	"path": "evidence",
} if {
	count(evidence) == 0
}

deny contains {
	"code": "F.evidence_unresolved",
	"message": sprintf("evidence %s did not resolve: %s", [text(e.uri), text(object.get(e, "detail", null))]),
	"path": sprintf("evidence[%d]", [i]),
} if {
	some i, e in evidence
	not e.resolved == true
}
