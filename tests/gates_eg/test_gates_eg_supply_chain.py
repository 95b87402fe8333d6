"""Gate G: absent ⇒ skip with reasons; declared or required ⇒ checked, every code triggered."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from gates_eg_support import build, case_module, codes, context, gate_g, read_json, write_json

from promote_action.gates import g_supply_chain
from promote_action.gates.base import Options, Status

G = case_module("g")
SBOM, PROV = G.SBOM, G.PROVENANCE


def with_both(ds: Any) -> None:
    G.add_sbom(ds)
    G.add_provenance(ds)


@pytest.fixture
def full(tmp_path: Path) -> Path:
    """The reference dataset plus a valid CycloneDX SBOM and in-toto v1 provenance."""
    return build(tmp_path / "ds", with_both)


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    return build(tmp_path / "plain")


def test_absent_is_a_skip_with_both_reasons(plain: Path) -> None:
    res = gate_g(plain)
    assert res.status == Status.SKIP
    assert [(r.code, r.pointer) for r in res.reasons] == [
        ("G.sbom_absent", "/sbom"), ("G.provenance_absent", "/provenance")]


def test_present_and_valid_passes(full: Path) -> None:
    ctx = context(full)
    res = g_supply_chain.check(ctx)
    assert res.status == Status.PASS, res.reasons
    assert ctx.facts["supply_chain"]["sbom"]["format"] == "CycloneDX"
    assert ctx.facts["supply_chain"]["provenance"]["predicate_type"] == g_supply_chain.SLSA_V1


def test_one_present_is_checked_and_passes(tmp_path: Path) -> None:
    assert gate_g(build(tmp_path / "ds", G.add_sbom)).status == Status.PASS


@pytest.mark.parametrize("kind", ["sbom", "provenance"])
def test_required_by_flag(plain: Path, kind: str) -> None:
    res = gate_g(plain, Options(**{f"require_{kind}": True}))
    assert res.status == Status.FAIL
    assert codes(res) == {f"G.{kind}_required"}
    assert f"--require-{kind}" in res.reasons[0].message


@pytest.mark.parametrize("kind", ["sbom", "provenance"])
def test_required_by_spec(tmp_path: Path, kind: str) -> None:
    res = gate_g(build(tmp_path / "ds", lambda d: d.spec.update(require={kind: True})))
    assert codes(res) == {f"G.{kind}_required"}


def test_required_and_present_passes(full: Path) -> None:
    assert gate_g(full, Options(require_sbom=True, require_provenance=True)).status == \
        Status.PASS


@pytest.mark.parametrize("kind", ["sbom", "provenance"])
def test_declared_but_missing(full: Path, kind: str) -> None:
    (full / (SBOM if kind == "sbom" else PROV)).unlink()
    assert codes(gate_g(full)) == {f"G.{kind}_missing"}


SPDX = {
    "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
    "name": "kfm-pipeline", "documentNamespace": "https://kfm.example/spdx/pipeline-1",
    "creationInfo": {"created": "2026-02-28T23:59:59Z", "creators": ["Tool: syft-1.0"]},
    "packages": [{"SPDXID": "SPDXRef-pandas", "name": "pandas",
                  "downloadLocation": "NOASSERTION"}],
}


def test_spdx_json_sbom_passes(full: Path) -> None:
    write_json(full / SBOM, SPDX)
    ctx = context(full)
    assert g_supply_chain.check(ctx).status == Status.PASS
    assert ctx.facts["supply_chain"]["sbom"]["format"] == "SPDX"


@pytest.mark.parametrize(("doc", "pointer"), [
    ({"hello": "world"}, ""),
    ([1, 2], ""),
    ({"bomFormat": "CycloneDX"}, ""),
    ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "x"}]},
     "/components/0"),
    ({"bomFormat": "CycloneDX", "specVersion": "1.5",
      "components": [{"type": "library", "name": "x",
                      "hashes": [{"alg": "SHA-256", "content": "not-hex"}]}]},
     "/components/0/hashes/0/content"),
    (dict(SPDX, spdxVersion="SPDX-3.0"), "/spdxVersion"),
    (dict(SPDX, dataLicense="MIT"), "/dataLicense"),
    ({k: v for k, v in SPDX.items() if k != "creationInfo"}, ""),
    (dict(SPDX, documentNamespace="https://x/spdx#frag"), "/documentNamespace"),
])
def test_invalid_sbom(full: Path, doc: Any, pointer: str) -> None:
    write_json(full / SBOM, doc)
    res = gate_g(full)
    assert codes(res) == {"G.sbom_invalid"}
    assert any(r.pointer == pointer and r.path == SBOM for r in res.reasons), res.reasons


def _statement(full: Path) -> dict[str, Any]:
    return read_json(full / PROV)  # type: ignore[no-any-return]


def _envelope(statement: Any, **over: Any) -> dict[str, Any]:
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    env = {"payloadType": "application/vnd.in-toto+json", "payload": payload,
           "signatures": [{"keyid": "k1", "sig": "c2ln"}]}
    env.update(over)
    return env


def test_dsse_envelope_is_unwrapped(full: Path) -> None:
    write_json(full / PROV, _envelope(_statement(full)))
    ctx = context(full)
    assert g_supply_chain.check(ctx).status == Status.PASS
    assert ctx.facts["supply_chain"]["provenance"]["envelope"] is True
    assert ctx.facts["supply_chain"]["provenance"]["signed"] is False


def test_dsse_subject_mismatch_points_into_payload(full: Path) -> None:
    st = _statement(full)
    st["subject"][1]["digest"]["sha256"] = "0" * 64
    write_json(full / PROV, _envelope(st))
    res = gate_g(full)
    assert codes(res) == {"G.provenance_subject_mismatch"}
    assert res.reasons[0].pointer == "/payload/subject/1/digest/sha256"


@pytest.mark.parametrize(("over", "pointer"), [
    ({"payloadType": "text/plain"}, "/payloadType"),
    ({"signatures": []}, "/signatures"),
    ({"payload": "!!not base64!!"}, "/payload"),
    ({"payload": base64.b64encode(b"{not json").decode()}, "/payload"),
])
def test_bad_dsse_envelope(full: Path, over: dict[str, Any], pointer: str) -> None:
    write_json(full / PROV, _envelope(_statement(full), **over))
    res = gate_g(full)
    assert codes(res) == {"G.provenance_invalid"}
    assert res.reasons[0].pointer == pointer


@pytest.mark.parametrize(("edit", "pointer"), [
    (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"), "/_type"),
    (lambda s: s.update(subject=[]), "/subject"),
    (lambda s: s["subject"][0]["digest"].pop("sha256"), "/subject/0/digest"),
    (lambda s: s["subject"][0]["digest"].update(sha256="abc"), "/subject/0/digest/sha256"),
    (lambda s: s.pop("predicateType"), ""),
    (lambda s: s["predicate"].pop("runDetails"), "/predicate"),
    (lambda s: s["predicate"]["buildDefinition"].pop("buildType"),
     "/predicate/buildDefinition"),
])
def test_invalid_statement(full: Path, edit: Any, pointer: str) -> None:
    st = _statement(full)
    edit(st)
    write_json(full / PROV, st)
    res = gate_g(full)
    assert codes(res) == {"G.provenance_invalid"}
    assert any(r.pointer == pointer for r in res.reasons), res.reasons


def test_subject_unknown(full: Path) -> None:
    st = _statement(full)
    st["subject"].append({"name": "processed/extra.bin", "digest": {"sha256": "1" * 64}})
    write_json(full / PROV, st)
    res = gate_g(full)
    assert codes(res) == {"G.provenance_subject_unknown"}
    assert res.reasons[0].pointer == "/subject/2"


def test_subject_matched_by_digest_when_named_differently(full: Path) -> None:
    st = _statement(full)
    for s in st["subject"]:
        s["name"] = Path(s["name"]).name  # builders often name subjects by basename
    write_json(full / PROV, st)
    assert gate_g(full).status == Status.PASS


def test_artifact_not_in_provenance(full: Path) -> None:
    st = _statement(full)
    st["subject"] = st["subject"][:1]
    write_json(full / PROV, st)
    res = gate_g(full)
    assert codes(res) == {"G.artifact_not_in_provenance"}
    assert (res.reasons[0].path, res.reasons[0].pointer) == ("spec.yaml", "/artifacts/1/path")


def test_sbom_and_provenance_problems_reported_together(full: Path) -> None:
    write_json(full / SBOM, {"bomFormat": "CycloneDX", "specVersion": "9"})
    st = _statement(full)
    st["subject"][0]["digest"]["sha256"] = "2" * 64
    write_json(full / PROV, st)
    assert codes(gate_g(full)) == {"G.sbom_invalid", "G.provenance_subject_mismatch"}


@pytest.mark.parametrize("case", sorted(G.CASES))
def test_fail_fixtures_fail_for_exactly_their_reason(tmp_path: Path, case: str) -> None:
    res = gate_g(build(tmp_path / case, G.CASES[case]))
    assert codes(res) == {case.replace("-", ".", 1)}
