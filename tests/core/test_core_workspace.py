"""Workspace confinement and digests: hostile paths never reach the filesystem."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from promote_action.digests import Workspace, hash_file, hash_files
from promote_action.errors import MissingFileError, UnsafePathError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.csv").write_bytes(b"a,b\n1,2\n")
    (tmp_path / "secret.txt").write_text("top secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.csv").write_text("x")
    os.symlink(tmp_path / "secret.txt", root / "data" / "leak.txt")
    os.symlink(tmp_path / "outside", root / "linkdir")
    os.symlink(root / "data" / "a.csv", root / "data" / "inside_link.csv")
    return Workspace(root)


@pytest.mark.parametrize("rel", [
    "../secret.txt", "data/../../secret.txt", "/etc/passwd", "C:/Windows/win.ini",
    "data\\a.csv", "data/%2e%2e/x", "%2E%2E/secret.txt", "data/a.csv\x00.txt",
    ".git/config", ".github/workflows/x.yml", "data/.GIT/config", "",
])
def test_unsafe_spellings(ws: Workspace, rel: str) -> None:
    with pytest.raises(UnsafePathError):
        ws.resolve(rel, file="spec.yaml", field="/artifacts/0/path")


@pytest.mark.parametrize("rel", ["data/leak.txt", "linkdir/x.csv"])
def test_symlinks_out_are_refused(ws: Workspace, rel: str) -> None:
    with pytest.raises(UnsafePathError, match="symlink leaves the workspace"):
        ws.digest(rel)


def test_symlink_inside_is_followed(ws: Workspace) -> None:
    assert ws.digest("data/inside_link.csv") == ws.digest("data/a.csv")


def test_missing_is_not_unsafe(ws: Workspace) -> None:
    with pytest.raises(MissingFileError):
        ws.resolve("data/none.csv")


def test_error_names_file_and_field(ws: Workspace) -> None:
    with pytest.raises(UnsafePathError) as e:
        ws.resolve("../secret.txt", file="spec.yaml", field="/artifacts/0/path")
    assert e.value.diagnostics().startswith("spec.yaml: /artifacts/0/path: unsafe path")


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 - 1, 1024 * 1024, 3 * 1024 * 1024 + 17])
def test_hash_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    assert hash_file(p) == "sha256:" + hashlib.sha256(data).hexdigest()


def test_parallel_equals_sequential(tmp_path: Path) -> None:
    paths = []
    for i in range(40):
        p = tmp_path / f"f{i}"
        p.write_bytes(os.urandom(i * 997))
        paths.append(p)
    assert hash_files(paths, workers=8) == hash_files(paths, workers=1)
