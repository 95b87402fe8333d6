"""The CLI end to end as a subprocess: exit codes, one-line errors, nothing written on error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests_support import PASS_DIR

PASS = PASS_DIR / "kansas_river_gauges"


def test_version_and_help(run_subprocess) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("--version")
    assert r.code == 0 and r.out.startswith("kfm-promote ")
    r = run_subprocess("--help")
    assert r.code == 0
    for cmd in ("validate", "hash", "init"):
        assert cmd in r.out


def test_hash_json_keys_are_exact(run_subprocess) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("hash", "--spec", PASS, "--format", "json")
    assert r.code == 0
    data = json.loads(r.out)
    assert set(data) == {"spec_hash", "dataset_slug", "dataset_version_id"}
    assert data["dataset_version_id"] == "2026-02." + data["spec_hash"][7:19]


def test_hash_text(run_subprocess) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("hash", "--spec", PASS / "spec.yaml")
    assert r.code == 0 and "dataset_version_id  2026-02." in r.out


@pytest.mark.parametrize(("content", "needle"), [
    ("kfm_spec_version: v1\ndataset_slug: abc\nversion_label: '1'\ntitle: t\nbogus: 1\n",
     "spec.yaml: /: Additional properties are not allowed ('bogus'"),
    ("a: &x 1\n", "spec.yaml: line 1: YAML anchors"),
    ("kfm_spec_version: v1\ndataset_slug: abc\nversion_label: 1.10\ntitle: t\n",
     "spec.yaml: /version_label: 1.1 is not of type 'string'"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(run_subprocess, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      content: str, needle: str) -> None:
    d = tmp_path / "ds"
    d.mkdir()
    (d / "spec.yaml").write_text(content)
    report = tmp_path / "out" / "report.json"
    r = run_subprocess("validate", "--spec", d / "spec.yaml", "--report", report, cwd=d)
    assert r.code == 2
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert needle in lines[0]
    assert not report.exists() and not (tmp_path / "out").exists()


def test_missing_spec_is_exit_2(run_subprocess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("validate", "--spec", tmp_path / "nope.yaml")
    assert r.code == 2 and "nope.yaml" in r.err and "Traceback" not in r.err


def test_usage_error_is_exit_2(run_subprocess) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("validate")
    assert r.code == 2 and "--spec" in r.err


def test_version_id_mismatch_is_gate_a_failure(run_subprocess) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("validate", "--spec", PASS, "--dataset-version-id",
                       "2026-02.000000000000", "--format", "json", "--engine", "embedded")
    assert r.code == 1
    report = json.loads(r.out)
    gate_a = next(g for g in report["gates"] if g["id"] == "A")
    assert gate_a["status"] == "fail"
    assert [x["code"] for x in gate_a["reasons"]] == ["A.version_id_mismatch"]
    assert report["decision"] != "pass"


def test_engine_opa_missing_is_exit_2(run_subprocess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("validate", "--spec", PASS, "--engine", "opa",
                       env={"PATH": str(tmp_path)})
    assert r.code == 2 and "no `opa` on PATH" in r.err


def test_github_format_annotates_spec_line(run_subprocess) -> None:  # type: ignore[no-untyped-def]
    r = run_subprocess("validate", "--spec", PASS, "--dataset-slug", "other_slug",
                       "--format", "github", "--engine", "embedded")
    assert r.code == 1
    ann = [ln for ln in r.out.splitlines() if ln.startswith("::error file=")]
    assert any("spec.yaml,line=2,title=A.slug_mismatch::" in a for a in ann), ann
