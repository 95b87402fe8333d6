"""Gates E and G end to end through `kfm-promote validate` (real subprocess)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gates_eg_support import build, case_module


def _gates(out: str) -> dict[str, dict[str, Any]]:
    return {g["id"]: g for g in json.loads(out)["gates"]}


def test_receipt_digest_mismatch_denies(tmp_path: Path, run_subprocess: Callable[..., Any]
                                        ) -> None:
    ds = build(tmp_path / "ds", case_module("e").CASES["E-digest_mismatch"])
    res = run_subprocess("validate", "--spec", ds, "--format", "json")
    assert res.code == 1, res.err
    report = json.loads(res.out)
    assert report["decision"] == "deny"
    gate_e = _gates(res.out)["E"]
    assert gate_e["status"] == "fail"
    assert [(r["code"], r["path"], r["pointer"]) for r in gate_e["reasons"]] == [
        ("E.digest_mismatch", "receipts/build.json", "/inputs/0/digest")]
    assert "receipts/build.json" in report["digests"]["receipts"]


def test_require_sbom_flag_turns_the_skip_into_a_denial(
        tmp_path: Path, run_subprocess: Callable[..., Any]) -> None:
    ds = build(tmp_path / "ds")
    plain = run_subprocess("validate", "--spec", ds, "--format", "json")
    assert _gates(plain.out)["G"]["status"] == "skip"
    assert json.loads(plain.out)["decision"] != "deny"
    res = run_subprocess("validate", "--spec", ds, "--format", "json", "--require-sbom")
    assert res.code == 1, res.err
    assert [r["code"] for r in _gates(res.out)["G"]["reasons"]] == ["G.sbom_required"]
    assert json.loads(res.out)["decision"] == "deny"


def test_unsafe_receipt_uri_is_bad_input(tmp_path: Path, run_subprocess: Callable[..., Any]
                                         ) -> None:
    def escape(d: Any) -> None:
        d.docs["receipts/build.json"]["inputs"][0]["uri"] = "../../../etc/passwd"

    ds = build(tmp_path / "ds", lambda d: d.post.append(escape))
    res = run_subprocess("validate", "--spec", ds, "--format", "json")
    assert res.code == 2
    assert res.out == ""
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1
    assert "receipts/build.json: /inputs/0/uri: unsafe path" in res.err
