"""Both engines must give identical decisions: every fixture capsule, and hundreds of
generated ones. OPA evaluates them in one batch process (a fresh `opa eval` costs
hundreds of ms); the batch query is itself checked against single product-path evals."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_helpers import (
    DEMO_POLICY,
    STEWARD,
    capsule_for,
    dumps,
    fixture_datasets,
    opa_batch,
)

from promote_action.policy.bundle import load_bundle
from promote_action.policy.decision import evaluate, normalize
from promote_action.policy.engines import EmbeddedEngine, OpaEngine
from promote_action.schemas import schema_errors

pytestmark = pytest.mark.usefixtures("require_opa")

D1, D2, D3 = ("sha256:" + c * 64 for c in "abc")
VID = "2026-02.0123456789ab"


def _norm(raw: Any) -> str:
    allow, quarantine, deny, pending = normalize(raw)
    return dumps({"allow": allow, "quarantine": quarantine,
                  "deny": [r.to_json() for r in deny],
                  "pending": [r.to_json() for r in pending]})


def _compare(bundle: Any, capsules: list[dict[str, Any]]) -> set[str]:
    """Assert identical normalized decisions; return the distinct outcomes seen."""
    embedded = EmbeddedEngine()
    got_opa = opa_batch(bundle, capsules)
    mismatches, outcomes = [], set()
    for capsule, raw_opa in zip(capsules, got_opa, strict=True):
        raw_emb = embedded.evaluate(bundle, capsule)
        if _norm(raw_emb) != _norm(raw_opa):
            mismatches.append((dumps(capsule), _norm(raw_emb), _norm(raw_opa)))
        outcomes.add(f"{raw_emb['allow']}/{raw_emb['quarantine']}/{bool(raw_emb['pending'])}")
    assert not mismatches, f"{len(mismatches)} divergent decisions, first: {mismatches[0]}"
    return outcomes


def test_fixture_capsules_identical_on_both_engines() -> None:
    bundle = load_bundle([DEMO_POLICY])
    datasets = fixture_datasets()
    assert any(d.parent.name == "fail" for d in datasets) and any(
        d.parent.name == "pass" for d in datasets)
    capsules = []
    for ds in datasets:
        check = capsule_for(ds, bundle, stage="check")
        # the promote stage differs only in these fields (same gates, same digests)
        promote = {**check, "stage": "promote", "approvals": [STEWARD.to_json()],
                   "destinations": ["entries/", "published/x.json"]}
        capsules += [check, promote]
    _compare(bundle, capsules)
    # the batch query is the product query: spot-check single evals and decision ids
    for capsule in (capsules[0], capsules[-1]):
        a = evaluate(bundle, capsule, OpaEngine())
        b = evaluate(bundle, capsule, EmbeddedEngine())
        assert a.decision_id == b.decision_id and a.result_json() == b.result_json()
        assert not any(r.code == "F.engine_error" for r in a.deny)


# --- generated capsules ------------------------------------------------------------------

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
maybe_digest = st.sampled_from([None, D1, D2, D3])
gate = st.builds(
    lambda i, s, codes: {"id": i, "title": f"gate {i}", "status": s,
                         "reasons": [{"code": c, "message": "m", "path": "", "pointer": ""}
                                     for c in codes]},
    st.sampled_from("ABCDEFG"), st.sampled_from(["pass", "fail", "skip", "not_run"]),
    st.lists(st.sampled_from(["A.x", "B.license_unclear", "D.link_broken", "Z.q"]),
             max_size=2))
artifact = st.builds(
    lambda path, spatial, digest, links: {
        "path": path, "media_type": "text/csv", "spatial": spatial, "digest": digest,
        "links": dict(zip(["dcat", "stac", "prov", "receipt"], links, strict=True))},
    st.one_of(st.sampled_from(["processed/a.csv", "b.geojson"]), text), st.booleans(),
    maybe_digest, st.lists(maybe_digest, min_size=4, max_size=4))
evidence = st.builds(
    lambda uri, resolved, detail: {"uri": uri, "digest": D3, "resolved": resolved,
                                   "actual": D3 if resolved else None,
                                   "detail": None if resolved else detail},
    st.one_of(st.just("qa/report.json"), text), st.booleans(),
    st.one_of(st.none(), text, st.just("file not found")))
ids = ["CC-BY-4.0", "CC0-1.0", "MIT", "CC-BY-NC-4.0", "LicenseRef-KFM-Internal", "GPL-3.0"]
license_ = st.builds(
    lambda spdx, use, dnf: {"spdx": spdx, "rights_holder": "r", "attribution": None,
                            "intended_use": use, "dnf": dnf},
    st.one_of(st.none(), st.sampled_from(ids)),
    st.sampled_from([None, "public_web", "internal_analysis", "research", "bogus", ""]),
    st.one_of(st.none(), st.lists(st.lists(st.sampled_from(ids), max_size=3), max_size=3)))
approval = st.builds(
    lambda role, principal: {"role": role, "principal": principal,
                             "approved_at": "2026-03-01T12:00:00Z"},
    st.sampled_from(["steward", "maintainer", ""]),
    st.sampled_from(["github:kfm-steward", "github:kfm-steward-2", "github:kfm-maintainer",
                     "github:mallory"]))
destination = st.one_of(st.sampled_from([
    "entries/", "entries/00/000001.json", f"datasets/slug_a/{VID}/", "datasets/slug_a/2026-02/x",
    "published/slug_a.json", f"refs/tags/kfm/slug_a/{VID}", "refs/heads/main",
    "entries/../published/slug_a.json", "datasets/slug_a/README.md", "published/other.json",
    "entries//x", "entries\\x"]), text)
random_capsule = st.fixed_dictionaries({
    "capsule_version": st.sampled_from(["v1", "v1", "v1", "v2"]),
    "stage": st.sampled_from(["check", "promote"]),
    "identity": st.fixed_dictionaries({
        "dataset_slug": st.sampled_from(["slug_a", "slug_b"]),
        "version_label": st.sampled_from(["2026-02", ""]),
        "dataset_version_id": st.just(VID), "spec_hash": st.just(D1)}),
    "gates": st.one_of(
        st.just([{"id": i, "title": i, "status": "pass", "reasons": []} for i in "ABCDEG"]),
        st.lists(gate, max_size=8)),
    "license": license_,
    "policy_label": st.sampled_from([None, "", "public", "internal", "restricted",
                                     "sensitive_location", "secret"]),
    "redaction_plan": st.sampled_from([None, {}, {"method": "generalize"}]),
    "artifacts": st.lists(artifact, max_size=3),
    "catalogs": st.just([]), "receipts": st.just([]),
    "evidence": st.lists(evidence, max_size=3),
    "quarantine": st.builds(lambda a, r: {"active": a, "reason_code": r, "record": None},
                            st.booleans(), st.one_of(st.none(), st.just("license_unclear"))),
    "quarantine_on": st.lists(st.sampled_from("ADEG"), max_size=2, unique=True),
    "approvals": st.lists(approval, max_size=3),
    "destinations": st.lists(destination, max_size=3),
})
GOOD: dict[str, Any] = {
    "capsule_version": "v1", "stage": "promote",
    "identity": {"dataset_slug": "slug_a", "version_label": "2026-02",
                 "dataset_version_id": VID, "spec_hash": D1},
    "gates": [{"id": i, "title": i, "status": "pass", "reasons": []} for i in "ABCDEG"],
    "license": {"spdx": "CC-BY-4.0", "rights_holder": "r", "attribution": None,
                "intended_use": "public_web", "dnf": [["CC-BY-4.0"]]},
    "policy_label": "public", "redaction_plan": None,
    "artifacts": [{"path": "a.csv", "media_type": "text/csv", "spatial": False, "digest": D1,
                   "links": {"dcat": D1, "stac": None, "prov": D1, "receipt": D1}}],
    "catalogs": [], "receipts": [],
    "evidence": [{"uri": "qa/r.json", "digest": D3, "resolved": True, "actual": D3,
                  "detail": None}],
    "quarantine": {"active": False, "reason_code": None, "record": None},
    "quarantine_on": [],
    "approvals": [{"role": "steward", "principal": "github:kfm-steward",
                   "approved_at": "2026-03-01T12:00:00Z"}],
    "destinations": ["entries/", f"datasets/slug_a/{VID}/"],
}
# half fully random, half a passing capsule with a few fields replaced (reaches allow)
capsule = st.one_of(random_capsule, st.tuples(
    random_capsule, st.sets(st.sampled_from(sorted(GOOD)), max_size=3)).map(
    lambda t: {**GOOD, **{k: t[0][k] for k in t[1]}}))


@pytest.mark.slow
def test_generated_capsules_identical_on_both_engines() -> None:
    bundle = load_bundle([DEMO_POLICY])
    seen: list[dict[str, Any]] = []

    @settings(max_examples=300, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(capsule)
    def collect(c: dict[str, Any]) -> None:
        if c["capsule_version"] == "v1" and len(seen) % 8 == 0:
            assert schema_errors("promote_capsule.schema.json", c) == []
        seen.append(c)

    collect()
    assert len(seen) >= 300
    outcomes = _compare(bundle, seen)
    # the generator reaches allow, deny, quarantine and pending, not just one corner
    assert {"True/False/False", "False/False/False", "False/True/False"} <= outcomes
    assert any(o.endswith("/True") for o in outcomes)
