"""Substituted object bytes: the object store hands back content that does not hash to
the id that names it (a corrupted clone, or an attacker with write access to the files
under objects/). `verify` turns off libgit2's own re-hash of every read for speed
(`ledger.verify.own_object_checks`), so these prove that its own checks still bind every
byte it trusts to the signed commit ids."""

from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path

import pygit2
import pytest
from promote_harness import verify_json
from tamper_lib import Ledger, entry_path, render, version_folder


def loose_only(repo: Path) -> None:
    """Unpack every pack, so each object lives in its own file we can overwrite."""
    packs = repo / "objects" / "pack"
    for pack in sorted(packs.glob("*.pack")):
        moved = repo / pack.name
        pack.rename(moved)
        pack.with_suffix(".idx").unlink()
        with moved.open("rb") as f:
            subprocess.run(["git", "-C", str(repo), "unpack-objects", "-q"], stdin=f, check=True)
        moved.unlink()


def substitute(repo: Path, oid: str, kind: bytes, data: bytes) -> None:
    """Make the store return `data` for `oid` (the id no longer matches the bytes)."""
    loose_only(repo)
    path = repo / "objects" / oid[:2] / oid[2:]
    assert path.exists(), f"{oid} is not a loose object"
    path.chmod(0o644)
    path.write_bytes(zlib.compress(b"%s %d\0" % (kind, len(data)) + data))


def rejected(led: Ledger) -> dict:
    code, out = verify_json(led.path, led.info["allowed"])
    assert code == 1, out
    return out["failure"]  # type: ignore[no-any-return]


def blob_id(led: Ledger, rev: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(led.path), "rev-parse", f"{rev}:{path}"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_head_entry_bytes_substituted(led: Ledger) -> None:
    """The newest entry is bound by nothing but its blob id (no later `prev` names it):
    a canonical, plausible replacement must still be caught."""
    chain = led.chain()
    seq = len(chain) - 1
    entry = led.entry(chain[-1], seq)
    entry["approvals"] = [{**a, "principal": "github:mallory"} for a in entry["approvals"]]
    substitute(led.path, blob_id(led, chain[-1], entry_path(seq)), b"blob", render(entry))
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (seq, chain[-1]), f
    assert "hash to its id" in f["why"], f


def test_stored_manifest_bytes_substituted(led: Ledger) -> None:
    chain = led.chain()
    entry = led.entry(chain[1], 1)
    path = version_folder(entry["dataset_slug"], entry["dataset_version_id"]) + "/manifest.json"
    manifest = json.loads(led.read(chain[1], path))
    manifest["approvals"] = [{**a, "principal": "github:mallory"} for a in manifest["approvals"]]
    substitute(led.path, blob_id(led, chain[1], path), b"blob", render(manifest))
    f = rejected(led)
    assert f["seq"] == 1 and "manifest.json" in f["why"] and "digest" in f["why"], f


def test_commit_bytes_substituted_by_another_signed_commit(led: Ledger) -> None:
    """Every byte of the replacement carries a valid signature by an allowed key; only
    the id check tells that it is not the commit its child names."""
    chain = led.chain()
    other = pygit2.Repository(str(led.path)).odb.read(pygit2.Oid(hex=chain[2]))[1]
    substitute(led.path, chain[3], b"commit", other)
    f = rejected(led)
    assert "hash to its id" in f["why"], f


def test_libgit2_rehash_is_back_on_after_verify(led: Ledger) -> None:
    """The speed switch is scoped to verify: later reads in the same process re-hash."""
    from promote_action.ledger.verify import own_object_checks

    chain = led.chain()
    oid = blob_id(led, chain[1], entry_path(1))
    substitute(led.path, oid, b"blob", b"not the entry\n")
    repo = pygit2.Repository(str(led.path))
    with own_object_checks():
        assert repo.odb.read(pygit2.Oid(hex=oid))[1] == b"not the entry\n"
    with pytest.raises(pygit2.GitError):
        pygit2.Repository(str(led.path)).odb.read(pygit2.Oid(hex=oid))
