"""Streaming, parallel, confined digests: correctness only (speed lives in bench/)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promote_action.digests import CHUNK, Workspace, hash_file, hash_files
from promote_action.errors import MissingFileError, UnsafePathError

REPO = Path(__file__).resolve().parents[2]


def expected(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 4097])
def test_hash_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    assert hash_file(tmp_path / "f") == expected(data)


def test_buffer_reuse_does_not_leak_between_files(tmp_path: Path) -> None:
    """The per-thread buffer is reused: a short file after a long one must not see the
    long file's leftover bytes."""
    big, small = os.urandom(CHUNK + 5), b"abc"
    (tmp_path / "big").write_bytes(big)
    (tmp_path / "small").write_bytes(small)
    assert hash_file(tmp_path / "big") == expected(big)
    assert hash_file(tmp_path / "small") == expected(small)


def test_parallel_equals_sequential_and_hashlib(tmp_path: Path) -> None:
    blobs = {f"d{i % 3}/f{i}.bin": os.urandom((i * 7919) % (3 * CHUNK) + (i % 2))
             for i in range(60)}
    for rel, data in blobs.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    paths = [tmp_path / rel for rel in blobs]
    par = hash_files(paths, workers=4)
    assert par == hash_files(paths, workers=1)
    assert par == {str(tmp_path / r): expected(d) for r, d in blobs.items()}
    assert list(par) == [str(p) for p in paths]  # input order, not completion order
    ws = Workspace(tmp_path).digest_many(list(blobs))
    assert ws == {r: expected(d) for r, d in blobs.items()}


def test_digest_many_normalises_and_dedups(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"x")
    ws = Workspace(tmp_path)
    assert ws.digest_many(["a/x", "./a/x", "a//x"]) == {"a/x": expected(b"x")}
    assert ws.digest("a/x") == expected(b"x")


def test_keys_must_match_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="differ in length"):
        hash_files([tmp_path / "a"], keys=["a", "b"])


def test_first_error_in_input_order_is_raised(tmp_path: Path) -> None:
    paths = []
    for i in range(20):
        (tmp_path / f"f{i}").write_bytes(os.urandom(1000 * i))
        paths.append(tmp_path / f"f{i}")
    paths[5] = tmp_path / "missing-5"
    paths[15] = tmp_path / "missing-15"
    for _ in range(5):
        with pytest.raises(FileNotFoundError) as e:
            hash_files(paths, workers=4)
        assert e.value.filename.endswith("missing-5")


def test_digest_many_checks_confinement_before_hashing(tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(b"ok")
    ws = Workspace(tmp_path)
    with pytest.raises(UnsafePathError):
        ws.digest_many(["ok", "../etc/passwd"])
    with pytest.raises(MissingFileError):
        ws.digest_many(["ok", "nope"])
    with pytest.raises(MissingFileError):
        ws.digest_many(["ok/below"])  # a file used as a directory is missing, not a crash


def test_symlinked_directory_inside_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_bytes(b"data")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    os.symlink("../real/f", tmp_path / "real" / "rel_link")
    ws = Workspace(tmp_path)
    assert ws.digest_many(["alias/f", "real/rel_link"]) == {
        "alias/f": expected(b"data"), "real/rel_link": expected(b"data")}


def test_symlink_chain_that_leaves_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (tmp_path / "outside").write_bytes(b"secret")
    os.symlink(tmp_path / "outside", root / "hop2")
    os.symlink("hop2", root / "hop1")
    with pytest.raises(UnsafePathError, match="leaves the workspace"):
        Workspace(root).digest_many(["hop1"])


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(MissingFileError, match="not a regular file"):
        Workspace(tmp_path).digest_many(["d"])


def test_digest_bench_smoke() -> None:
    """bench/digest.py --smoke runs end to end on tiny data and prints its table (it also
    cross-checks every digest against openssl, which is what makes it fail)."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "digest.py"), "--smoke"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "hash_files (threads)" in proc.stdout
    assert "Workspace.digest_many" in proc.stdout
    assert "sha256sum / openssl" in proc.stdout
    assert "peak RSS" in proc.stdout
