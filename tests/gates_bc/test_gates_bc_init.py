"""`kfm-promote init`: scaffold, refusals, determinism, and what validate says about it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SLUG = "kansas_new_data"
FILL_ME_B = {"B.license_unclear", "B.rights_holder_missing", "B.attribution_missing",
             "B.intended_use_unknown", "B.source_entry_invalid", "B.license_snapshot_mismatch"}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_then_validate_lists_what_to_fill_in(tmp_path: Path, run_subprocess: Any) -> None:
    ds = tmp_path / "datasets" / SLUG
    made = run_subprocess("init", "--dataset-slug", SLUG, ds)
    assert made.code == 0, made.err
    assert "spec.yaml" in made.out and "README.md" in made.out
    res = run_subprocess("validate", "--spec", ds, "--format", "json", "--engine", "embedded")
    assert res.code == 1, res.err
    assert res.err == "" and "Traceback" not in res.out
    report = json.loads(res.out)
    assert report["decision"] == "quarantine"
    assert report["dataset_slug"] == SLUG
    gates = {g["id"]: g for g in report["gates"]}
    assert gates["A"]["status"] == "pass"
    assert {r["code"] for r in gates["B"]["reasons"]} == FILL_ME_B
    assert {r["code"] for r in gates["C"]["reasons"]} == {"C.label_missing"}
    assert {r["pointer"] for r in gates["B"]["reasons"] if r["path"] == "spec.yaml"} == {
        "/license/spdx", "/license/rights_holder", "/license/attribution", "/intended_use"}


def test_scaffold_is_deterministic_and_fully_substituted(tmp_path: Path, run_cli: Any) -> None:
    for name in ("one", "two"):
        assert run_cli("init", "--dataset-slug", SLUG, tmp_path / name).code == 0
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert one == two
    assert {"spec.yaml", "README.md", "sources/example_source.yaml",
            "sources/example_source.LICENSE.txt", "catalog/dcat.jsonld", "catalog/prov.json",
            "catalog/stac/collection.json", "receipts/build.json"} <= set(one)
    for rel, data in one.items():
        text = data.decode()
        assert "${" not in text and "TODO" not in text, rel
        if rel.endswith((".json", ".jsonld")):
            json.loads(text)
    assert f"dataset_slug: {SLUG}" in one["spec.yaml"].decode()
    assert "version_label: draft" in one["spec.yaml"].decode()


def test_hash_works_on_the_scaffold(tmp_path: Path, run_cli: Any) -> None:
    run_cli("init", "--dataset-slug", SLUG, "--version-label", "2026-03", tmp_path / "d")
    res = run_cli("hash", "--spec", tmp_path / "d", "--format", "json")
    assert res.code == 0
    assert json.loads(res.out)["dataset_version_id"].startswith("2026-03.")


def test_existing_empty_directory_is_used(tmp_path: Path, run_cli: Any) -> None:
    (tmp_path / "d").mkdir()
    assert run_cli("init", "--dataset-slug", SLUG, tmp_path / "d").code == 0
    assert (tmp_path / "d" / "spec.yaml").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no temp dir left behind


@pytest.mark.parametrize("slug", ["Bad", "ab", "1abc", "k\u0430nsas_data", "has-dash",
                                  "x" * 65, ""])
def test_invalid_slug_exits_2_and_writes_nothing(tmp_path: Path, run_cli: Any, slug: str
                                                 ) -> None:
    res = run_cli("init", "--dataset-slug", slug, tmp_path / "d")
    assert res.code == 2
    assert "--dataset-slug" in res.err and len(res.err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_invalid_version_label_exits_2(tmp_path: Path, run_cli: Any) -> None:
    res = run_cli("init", "--dataset-slug", SLUG, "--version-label", "../x", tmp_path / "d")
    assert res.code == 2 and "--version-label" in res.err
    assert list(tmp_path.iterdir()) == []


def test_non_empty_directory_exits_2_and_is_untouched(tmp_path: Path,
                                                      run_subprocess: Any) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "notes.txt").write_text("mine\n")
    res = run_subprocess("init", "--dataset-slug", SLUG, d)
    assert res.code == 2 and "not empty" in res.err and "Traceback" not in res.err
    assert _tree(d) == {"notes.txt": b"mine\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_path_that_is_a_file_exits_2(tmp_path: Path, run_cli: Any) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    res = run_cli("init", "--dataset-slug", SLUG, f)
    assert res.code == 2 and "not a directory" in res.err
    assert f.read_text() == "x"


def test_missing_slug_flag_is_a_usage_error(tmp_path: Path, run_subprocess: Any) -> None:
    res = run_subprocess("init", tmp_path / "d")
    assert res.code == 2 and "--dataset-slug" in res.err
    assert not (tmp_path / "d").exists()
