"""Gate E: every reason code is triggered by a real dataset with one thing broken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gates_eg_support import (
    RECEIPT,
    after_seal,
    build,
    case_module,
    codes,
    context,
    gate_e,
    read_json,
    write_json,
)

from promote_action.errors import SchemaError, UnsafePathError
from promote_action.gates import e_receipts
from promote_action.gates.base import Status
from promote_action.receipts import make_receipt, receipt_problems, validate_receipt
from promote_action.spec import canonical_digest


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    return build(tmp_path / "ds")


def edit_receipt(root: Path, fn: Any) -> None:
    data = read_json(root / RECEIPT)
    fn(data)
    write_json(root / RECEIPT, data)


def test_reference_dataset_passes_and_records_facts(ds: Path) -> None:
    ctx = context(ds)
    res = e_receipts.check(ctx)
    assert res.status == Status.PASS, res.reasons
    receipt_digest = ctx.workspace.digest(RECEIPT)
    assert ctx.facts["receipts"] == [{"path": RECEIPT, "digest": receipt_digest}]
    for path in ctx.artifact_paths():  # each artifact's receipt claim is recorded
        assert ctx.links[path].receipt == ctx.links[path].actual is not None


@pytest.mark.parametrize(("edit", "code", "pointer"), [
    (lambda r: r["inputs"][0].update(digest="sha256:" + "0" * 64), "E.digest_mismatch",
     "/inputs/0/digest"),
    (lambda r: r["outputs"][1].update(digest="sha256:" + "1" * 64), "E.digest_mismatch",
     "/outputs/1/digest"),
    (lambda r: r["inputs"].append({"uri": "raw/gone.csv", "digest": "sha256:" + "2" * 64}),
     "E.input_missing", "/inputs/1/uri"),
    (lambda r: r["outputs"].append({"uri": "processed/x.parquet",
                                    "digest": "sha256:" + "2" * 64}),
     "E.output_missing", "/outputs/2/uri"),
    (lambda r: r["inputs"].append({"uri": "s3:kfm-raw/nwis/iv.csv",
                                   "digest": "sha256:" + "2" * 64}),
     "E.uri_not_local", "/inputs/1/uri"),
    (lambda r: r["environment"].pop("git_commit"), "E.environment_incomplete", "/environment"),
    (lambda r: r.pop("environment"), "E.environment_incomplete", ""),
    (lambda r: r.update(environment="docker"), "E.environment_incomplete", "/environment"),
    (lambda r: r["environment"].update(image="x"), "E.receipt_invalid", "/environment"),
    (lambda r: r["environment"].update(params_digest=""), "E.environment_incomplete",
     "/environment/params_digest"),
    (lambda r: r["environment"].update(container_digest="sha256:img"),
     "E.container_digest_invalid", "/environment/container_digest"),
    (lambda r: r["environment"].update(git_commit="deadbeef"), "E.git_commit_invalid",
     "/environment/git_commit"),
    (lambda r: r["environment"].update(git_commit="9FCEB02D0AE598E95DC970B74767F19372D61AF8"),
     "E.git_commit_invalid", "/environment/git_commit"),
    (lambda r: r["environment"].update(params_digest="md5:abc"), "E.params_digest_invalid",
     "/environment/params_digest"),
    (lambda r: r["environment"].update(params_digest="sha256:" + "3" * 64),
     "E.params_digest_mismatch", "/environment/params_digest"),
    (lambda r: r.update(dataset_version_id="2026-02.000000000000"), "E.version_id_mismatch",
     "/dataset_version_id"),
    (lambda r: r["validation"].update(status="fail"), "E.validation_failed",
     "/validation/status"),
    (lambda r: r["validation"].update(report_digest="sha256:" + "7" * 64),
     "E.report_unresolved", "/validation/report_digest"),
    (lambda r: r.pop("run_id"), "E.receipt_invalid", ""),
    (lambda r: r.update(created_at="2026-02-30T12:00:00Z"), "E.receipt_invalid", "/created_at"),
    (lambda r: r.update(created_at="yesterday"), "E.receipt_invalid", "/created_at"),
    (lambda r: r.update(surprise=True), "E.receipt_invalid", ""),
    (lambda r: r["outputs"].append(dict(r["outputs"][0])), "E.receipt_invalid", "/outputs/2/uri"),
    (lambda r: r.update(policy={"decision_id": "xyz"}), "E.receipt_invalid",
     "/policy/decision_id"),
])
def test_each_receipt_problem_has_its_code(ds: Path, edit: Any, code: str, pointer: str
                                           ) -> None:
    edit_receipt(ds, edit)
    res = gate_e(ds)
    assert res.status == Status.FAIL
    assert code in codes(res)
    hit = [r for r in res.reasons if r.code == code]
    assert any(r.pointer == pointer and r.path == RECEIPT for r in hit), hit


def test_artifact_not_in_receipt(tmp_path: Path) -> None:
    def drop(d: Any) -> None:
        d.docs[RECEIPT]["outputs"] = d.docs[RECEIPT]["outputs"][:1]

    res = gate_e(build(tmp_path / "ds", after_seal(drop)))
    assert codes(res) == {"E.artifact_not_in_receipt"}
    assert res.reasons[0].path == "spec.yaml" and res.reasons[0].pointer == "/artifacts/1/path"


def test_no_receipts_listed(tmp_path: Path) -> None:
    ds = build(tmp_path / "ds", lambda d: d.spec.pop("receipts"))
    res = gate_e(ds)
    assert codes(res) == {"E.receipt_missing"}
    assert res.reasons[0].pointer == "/receipts"


def test_receipt_file_missing(ds: Path) -> None:
    (ds / RECEIPT).unlink()
    res = gate_e(ds)
    assert codes(res) == {"E.receipt_missing"}  # no artifact noise for a missing file
    assert res.reasons[0].pointer == "/receipts/0"


def test_params_file_missing(ds: Path) -> None:
    (ds / "params.yaml").unlink()
    assert codes(gate_e(ds)) == {"E.params_missing"}


def test_params_digest_is_canonical(ds: Path) -> None:
    """Reformatting params.yaml (same data) keeps the receipt valid: RFC 8785 digest."""
    (ds / "params.yaml").write_text("round_digits: 3\nfactor: 0.3048\n"
                                    "unit_conversion: ft_to_m\n")
    assert gate_e(ds).status == Status.PASS
    (ds / "params.yaml").write_text("round_digits: 4\nfactor: 0.3048\n"
                                    "unit_conversion: ft_to_m\n")
    assert codes(gate_e(ds)) == {"E.params_digest_mismatch"}


def test_output_bytes_changed_after_the_run(tmp_path: Path) -> None:
    def tamper(d: Any) -> None:
        d.files["processed/gauges.csv"] += b"06893000,Kansas River at Kansas City,39.1,-94.6,3\n"

    res = gate_e(build(tmp_path / "ds", after_seal(tamper)))
    assert codes(res) == {"E.digest_mismatch"}
    assert res.reasons[0].pointer == "/outputs/0/digest"


def test_all_problems_reported_at_once(ds: Path) -> None:
    def many(r: dict[str, Any]) -> None:
        r["inputs"][0]["digest"] = "sha256:" + "0" * 64
        r["environment"]["git_commit"] = "abc"
        r["environment"]["container_digest"] = "latest"
        r["dataset_version_id"] = "2025-01.111111111111"
        r["outputs"].pop()

    edit_receipt(ds, many)
    assert codes(gate_e(ds)) == {
        "E.digest_mismatch", "E.git_commit_invalid", "E.container_digest_invalid",
        "E.version_id_mismatch", "E.artifact_not_in_receipt"}


def test_second_receipt_can_cover_an_artifact(ds: Path) -> None:
    receipt = read_json(ds / RECEIPT)
    second = dict(receipt, run_id="kfm://run/x/2026-02/tiles", outputs=receipt["outputs"][1:])
    receipt["outputs"] = receipt["outputs"][:1]
    write_json(ds / RECEIPT, receipt)
    write_json(ds / "receipts/tiles.json", second)
    spec = (ds / "spec.yaml").read_text().replace(
        "receipts:\n- receipts/build.json\n",
        "receipts:\n- receipts/build.json\n- receipts/tiles.json\n")
    (ds / "spec.yaml").write_text(spec)
    # the spec changed, so its version id did too: both receipts must name the new one
    ctx = context(ds)
    for rel in (RECEIPT, "receipts/tiles.json"):
        data = read_json(ds / rel)
        data["dataset_version_id"] = ctx.dataset_version_id
        write_json(ds / rel, data)
    ctx = context(ds)
    res = e_receipts.check(ctx)
    assert res.status == Status.PASS, res.reasons
    assert [f["path"] for f in ctx.facts["receipts"]] == [RECEIPT, "receipts/tiles.json"]


def test_uri_escaping_the_workspace_is_bad_input(ds: Path) -> None:
    edit_receipt(ds, lambda r: r["inputs"].append({"uri": "../../etc/passwd",
                                                    "digest": "sha256:" + "0" * 64}))
    with pytest.raises(UnsafePathError) as e:
        gate_e(ds)
    assert e.value.file == RECEIPT and e.value.field == "/inputs/1/uri"


E_CASES = case_module("e").CASES


@pytest.mark.parametrize("case", sorted(E_CASES))
def test_fail_fixtures_fail_for_exactly_their_reason(tmp_path: Path, case: str) -> None:
    """Built from fixtures/cases/gate_e.py (the checked-in tree is compared with the
    builder's output by the fixture contract test)."""
    res = gate_e(build(tmp_path / case, E_CASES[case]))
    assert codes(res) == {case.replace("-", ".", 1)}


def _receipt(**over: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        run_id="kfm://run/promote/1", principal="github:steward", role="steward",
        operation="promote", dataset_version_id="2026-02.9d1f014ed6ed",
        inputs=[("spec.yaml", "sha256:" + "a" * 64)],
        outputs=[("datasets/x/manifest.json", "sha256:" + "b" * 64)],
        container_digest="sha256:" + "c" * 64, git_commit="d" * 40,
        params_digest=canonical_digest({}), validation_status="pass",
        report_digest="sha256:" + "e" * 64, created_at="2026-02-28T23:59:59Z")
    args.update(over)
    return make_receipt(**args)


def test_make_receipt_follows_the_template() -> None:
    r = _receipt(decision_id="kfm://policy_decision/sha256:" + "f" * 64)
    assert list(r) == ["run_id", "actor", "operation", "dataset_version_id", "inputs",
                       "outputs", "environment", "validation", "policy", "created_at"]
    assert receipt_problems(r) == []
    assert "policy" not in _receipt()


@pytest.mark.parametrize(("over", "field"), [
    ({"git_commit": "d" * 39}, "/environment/git_commit"),
    ({"created_at": "2026-02-28 23:59:59"}, "/created_at"),
    ({"outputs": []}, "/outputs"),
    ({"validation_status": "maybe"}, "/validation/status"),
])
def test_make_receipt_refuses_what_gate_e_would(over: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaError) as e:
        _receipt(**over)
    assert e.value.field == field


def test_validate_receipt_names_file_and_counts() -> None:
    with pytest.raises(SchemaError) as e:
        validate_receipt({"run_id": 1}, file="receipt.json")
    msg = e.value.diagnostics()
    assert msg.startswith("receipt.json: ") and "more)" in msg


def test_leap_second_and_offsets_are_rfc3339() -> None:
    for ts in ("2016-12-31T23:59:60Z", "2026-02-28T23:59:59.123+05:30", "2026-02-28t10:00:00z"):
        assert receipt_problems(dict(_receipt(), created_at=ts)) == [], ts


def test_report_digest_may_match_content_addressed_evidence(ds: Path) -> None:
    report = read_json(ds / RECEIPT)["validation"]["report_digest"]
    spec = (ds / "spec.yaml").read_text().replace("uri: qa/report.json",
                                                  f"uri: kfm://evidence/{report}")
    assert spec != (ds / "spec.yaml").read_text()
    (ds / "spec.yaml").write_text(spec)
    ctx = context(ds)
    edit_receipt(ds, lambda r: r.update(dataset_version_id=ctx.dataset_version_id))
    assert gate_e(ds).status == Status.PASS


def test_no_evidence_listed_leaves_report_to_gate_f(tmp_path: Path) -> None:
    assert gate_e(build(tmp_path / "ds", lambda d: d.spec.pop("evidence"))).status == \
        Status.PASS
