"""The Rego policy's own tests, on the real `opa test` and on the embedded runner, and
`kfm-promote policy test` exit codes (0 pass, 1 failing test, 2 policy does not load)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from policy_helpers import DEMO_POLICY, REPO

POLICY = REPO / "policy"


def test_opa_test_passes_on_the_builtin_policy(require_opa: None) -> None:
    proc = subprocess.run(["opa", "test", "-v", str(POLICY)], capture_output=True, text=True,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
    assert int(re.search(r"PASS: (\d+)/\1", proc.stdout).group(1)) >= 50  # type: ignore[union-attr]


def test_every_policy_file_has_a_test_file_and_every_deny_code_is_tested() -> None:
    rules = [p for p in POLICY.glob("*.rego") if not p.name.endswith("_test.rego")]
    assert len(rules) >= 6
    tests = "".join(p.read_text() for p in POLICY.glob("*_test.rego"))
    for p in rules:
        assert (POLICY / f"{p.stem}_test.rego").exists(), p.name
        for code in re.findall(r'"code": "(F\.[a-z_]+)"', p.read_text()):
            # a test that fires it, and one that shows it quiet
            assert re.search(rf"test_{code[2:]}_(fires|is_pending)\w*", tests) or \
                re.search(rf"test_\w*{code[2:]}\w*", tests), code
            assert (f'"{code}" in' in tests and f'not "{code}" in' in tests) or \
                code == "F.awaiting_approval", code


def test_policy_test_cli_passes_builtin_and_demo_dir(run_cli) -> None:
    """(The opa side of this is test_opa_test_passes_on_the_builtin_policy.)"""
    r = run_cli("policy", "test", DEMO_POLICY, "--engine", "embedded", "-v")
    assert r.code == 0, r.out + r.err
    assert re.search(r"PASS: (\d+)/\1", r.out)
    assert "data.kfm.promote_test.test_good_capsule_is_allowed: PASS" in r.out


def _user_dir(tmp_path: Path, name: str, src: str) -> Path:
    d = tmp_path / "org_policy"
    d.mkdir(exist_ok=True)
    (d / name).write_text(src)
    return d


USER_RULE = """package kfm.promote

deny contains {"code": "F.org_no_csv", "message": "org: no CSV artifacts", "path": "artifacts"} if {
	some a in input.artifacts
	endswith(a.path, ".csv")
}
"""

USER_TESTS = """package org_test

test_org_rule_fires if {
	d := data.kfm.promote.decision with input as {"artifacts": [{"path": "x.csv"}]}
	some r in d.deny
	r.code == "F.org_no_csv"
}

test_org_rule_wrong if {
	d := data.kfm.promote.decision with input as {"artifacts": []}
	some r in d.deny
	r.code == "F.org_no_csv"
}
"""


def test_policy_test_cli_reports_a_failing_user_test(run_cli, tmp_path: Path,
                                                     engine_name: str) -> None:
    d = _user_dir(tmp_path, "org.rego", USER_RULE)
    (d / "org_test.rego").write_text(USER_TESTS)
    r = run_cli("policy", "test", d, "--engine", engine_name)
    assert r.code == 1, r.out + r.err
    assert "data.org_test.test_org_rule_wrong: FAIL" in r.out
    assert "test_org_rule_fires: FAIL" not in r.out


def test_policy_test_cli_syntax_error_is_exit_2_naming_file_and_line(
        run_cli, tmp_path: Path, engine_name: str) -> None:
    d = _user_dir(tmp_path, "broken.rego", "package kfm.promote\n\ndeny contains x if {\n"
                                           "  x := 1 +\n}\n")
    r = run_cli("policy", "test", d, "--engine", engine_name)
    assert r.code == 2, r.out + r.err
    assert "broken.rego" in r.err and re.search(r"line [45]\b", r.err), r.err
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1


def test_policy_test_cli_without_opa_is_exit_2(run_cli, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    r = run_cli("policy", "test", "--engine", "opa")
    assert r.code == 2 and "no `opa` on PATH" in r.err
