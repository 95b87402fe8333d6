"""`--policy DIR` / `policy test DIR`: a directory that IS the built-in policy is the
built-in policy (loaded once), while directories that really conflict still exit 2
naming both files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests_support import REPO as REPO_ROOT

from promote_action.errors import PolicyLoadError
from promote_action.policy.bundle import builtin_policy_dir, load_bundle

BUILTIN_FILES = load_bundle([]).files


def test_policy_test_on_the_builtin_directory_runs_it_once(run_cli) -> None:
    r = run_cli("policy", "test", REPO_ROOT / "policy", "--engine", "embedded")
    assert r.code == 0, r.out + r.err
    assert "defined twice" not in r.err
    assert load_bundle([REPO_ROOT / "policy"]).files == BUILTIN_FILES


def test_builtin_by_another_path_copy_or_twice_is_the_builtin(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(builtin_policy_dir(), target_is_directory=True)
    copy = tmp_path / "copy"
    shutil.copytree(builtin_policy_dir(), copy)
    bundle = load_bundle([link, copy, builtin_policy_dir()])
    assert bundle.files == BUILTIN_FILES and bundle.roots == [builtin_policy_dir()]


def test_same_user_directory_twice_is_loaded_once(tmp_path: Path) -> None:
    user = REPO_ROOT / "fixtures" / "policy"
    assert load_bundle([user, user]).files == load_bundle([user]).files


def _data_dir(root: Path, name: str, doc: dict) -> Path:
    d = root / name
    d.mkdir()
    (d / "stewards.json").write_text(json.dumps(doc))
    return d


def test_two_user_directories_that_conflict_exit_2_naming_both(tmp_path: Path,
                                                               run_cli) -> None:
    a = _data_dir(tmp_path, "team_a", {"kfm": {"stewards": {"github:alice": {"roles": []}}}})
    b = _data_dir(tmp_path, "team_b", {"kfm": {"stewards": {"github:alice": {"roles": ["x"]}}}})
    r = run_cli("policy", "test", a, b, "--engine", "embedded")
    assert r.code == 2, r.out + r.err
    assert str(a / "stewards.json") in r.err and str(b / "stewards.json") in r.err
    assert "data key /kfm/stewards/github:alice/roles is defined twice" in r.err


def test_a_modified_copy_of_the_builtin_is_not_the_builtin(tmp_path: Path) -> None:
    """Only an exact copy counts as the built-in: one more file and it is a user
    directory, whose data then really conflicts with ours (both files named)."""
    copy = tmp_path / "copy"
    shutil.copytree(builtin_policy_dir(), copy)
    (copy / "local.rego").write_text("package kfm.promote\n")
    with pytest.raises(PolicyLoadError) as err:
        load_bundle([copy])
    msg = err.value.diagnostics()
    assert "defined twice" in msg
    assert str(copy / "data.json") in msg and str(builtin_policy_dir() / "data.json") in msg
