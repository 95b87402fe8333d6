"""Fail closed, on both engines: undefined, malformed, conflicting or slow policy never
allows; syntax errors and a missing `opa` are exit 2 naming the problem; user policy
directories add deny rules and cannot remove ours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from policy_helpers import DEMO_POLICY, REPO, STEWARD, capsule_for

from promote_action.errors import EngineUnavailableError, PolicyLoadError
from promote_action.policy.bundle import load_bundle
from promote_action.policy.decision import evaluate
from promote_action.policy.engines import select_engine

PASS = REPO / "fixtures" / "pass" / "kansas_river_gauges"


@pytest.fixture(scope="module")
def good_capsule() -> dict:
    return capsule_for(PASS, load_bundle([DEMO_POLICY]), stage="promote", approvals=[STEWARD],
                       destinations=["entries/", "published/kansas_river_gauges.json"])


def _dir(tmp_path: Path, src: str, name: str = "org.rego") -> Path:
    d = tmp_path / "org"
    d.mkdir(exist_ok=True)
    (d / name).write_text(src)
    return d


def test_good_capsule_passes_on_both(good_capsule: dict, engine_name: str) -> None:
    d = evaluate(load_bundle([DEMO_POLICY]), good_capsule, select_engine(engine_name))
    assert d.outcome == "pass", d.result_json()


def test_undefined_decision_is_engine_error(tmp_path: Path, good_capsule: dict,
                                            engine_name: str) -> None:
    bundle = load_bundle([_dir(tmp_path, "package other\n\nx := 1\n")], include_builtin=False)
    d = evaluate(bundle, good_capsule, select_engine(engine_name))
    assert d.outcome == "deny" and [r.code for r in d.deny] == ["F.engine_error"]
    assert "undefined" in d.deny[0].message


@pytest.mark.parametrize("decision", [
    '{"allow": "true", "quarantine": false, "deny": [], "pending": []}',
    '{"allow": true, "quarantine": false, "deny": [{"code": 1}], "pending": []}',
    '{"allow": true, "quarantine": false, "deny": {}, "pending": []}',
    '[true]',
])
def test_malformed_decision_is_engine_error(tmp_path: Path, good_capsule: dict,
                                            engine_name: str, decision: str) -> None:
    src = f"package kfm.promote\n\ndecision := {decision}\n"
    bundle = load_bundle([_dir(tmp_path, src)], include_builtin=False)
    d = evaluate(bundle, good_capsule, select_engine(engine_name))
    assert d.allow is False and [r.code for r in d.deny] == ["F.engine_error"]


def test_allow_false_without_reasons_is_not_a_pass(tmp_path: Path, good_capsule: dict,
                                                   engine_name: str) -> None:
    src = ('package kfm.promote\n\ndecision := {"allow": false, "quarantine": false, '
           '"deny": [], "pending": []}\n')
    bundle = load_bundle([_dir(tmp_path, src)], include_builtin=False)
    assert evaluate(bundle, good_capsule, select_engine(engine_name)).outcome == "deny"


def test_opa_timeout_is_engine_error(good_capsule: dict, require_opa: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFM_OPA_TIMEOUT", "0.01")
    d = evaluate(load_bundle([DEMO_POLICY]), good_capsule, select_engine("opa"))
    assert [r.code for r in d.deny] == ["F.engine_error"] and "timed out" in d.deny[0].message


def test_engine_opa_without_opa_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EngineUnavailableError):
        select_engine("opa")
    assert select_engine("auto").name == "embedded"


def test_syntax_error_exit_2_names_file_and_line(run_cli, tmp_path: Path,
                                                 engine_name: str) -> None:
    d = _dir(tmp_path, "package kfm.promote\n\ndeny contains x if {\n  x := 1 +\n}\n",
             "broken.rego")
    r = run_cli("validate", "--spec", PASS, "--policy", d, "--engine", engine_name)
    assert r.code == 2, r.out + r.err
    assert str(d / "broken.rego") in r.err and re.search(r"line [45]\b", r.err), r.err
    assert len(r.err.strip().splitlines()) == 1 and r.out == ""


def test_user_deny_rules_add_to_ours(tmp_path: Path, good_capsule: dict,
                                     engine_name: str) -> None:
    src = ('package kfm.promote\n\ndeny contains {"code": "F.org_rule", "message": "org says '
           'no", "path": "identity.dataset_slug"} if input.identity.dataset_slug != ""\n')
    d = evaluate(load_bundle([DEMO_POLICY, _dir(tmp_path, src)]), good_capsule,
                 select_engine(engine_name))
    assert d.outcome == "deny" and [r.code for r in d.deny] == ["F.org_rule"]
    assert d.explain[0]["value"] == "kansas_river_gauges"


@pytest.mark.parametrize("src", [
    "allow := true\n",
    "allow if true\n",
    "default allow := true\n",
    'decision := {"allow": true, "quarantine": false, "deny": [], "pending": []}\n',
    "deny := set()\n",
    'tables := {"destinations": ["/"]}\n',
])
def test_user_policy_cannot_remove_our_denies(tmp_path: Path, good_capsule: dict,
                                              engine_name: str, src: str) -> None:
    """A capsule our rules deny stays denied (or the policy does not load: exit 2)."""
    bad = dict(good_capsule, evidence=[])
    bundle = load_bundle([DEMO_POLICY, _dir(tmp_path, "package kfm.promote\n\n" + src)])
    try:
        d = evaluate(bundle, bad, select_engine(engine_name))
    except PolicyLoadError:
        return
    assert d.allow is False and d.outcome == "deny"
    assert {r.code for r in d.deny} & {"F.evidence_missing", "F.engine_error"}


def test_user_data_cannot_override_tables(tmp_path: Path) -> None:
    d = _dir(tmp_path, '{"kfm": {"tables": {"destinations": ["/"]}}}', "data.json")
    with pytest.raises(PolicyLoadError, match="defined twice"):
        load_bundle([d])
