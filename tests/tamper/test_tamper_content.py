"""Tampering with content behind VALID signatures (an insider or a leaked allowed key):
plain `git verify-commit` accepts these commits, so the hash chain, the entry's file
digests and the ledger rules are what must catch them."""

from __future__ import annotations

import json

import pytest
from promote_harness import verify_json
from tamper_lib import (
    Ledger,
    entry_digest,
    entry_path,
    git_verify_commit,
    render,
    sha,
    version_folder,
)

from promote_action.ledger.policy_store import bundle_paths


def rejected(led: Ledger) -> dict:
    code, out = verify_json(led.path, led.info["allowed"])
    assert code == 1, out
    return out["failure"]  # type: ignore[no-any-return]


def manifest_path(entry: dict) -> str:
    return version_folder(entry["dataset_slug"], entry["dataset_version_id"]) + "/manifest.json"


def forged_manifest(led: Ledger, rev: str, entry: dict) -> bytes:
    m = json.loads(led.read(rev, manifest_path(entry)))
    m["approvals"] = [{**a, "principal": "github:mallory"} for a in m["approvals"]]
    return render(m)


@pytest.mark.parametrize("resign", ["allowed_key", "old_signature"])
def test_edited_stored_manifest_in_its_own_commit(led: Ledger, resign: str):
    chain = led.chain()
    entry = led.entry(chain[1], 1)
    writes = {manifest_path(entry): forged_manifest(led, chain[1], entry)}
    if resign == "allowed_key":
        bad = led.recommit(chain[1], chain[0], led.info["k1"], writes)
        assert git_verify_commit(led.path, led.info["allowed"], bad).returncode == 0
    else:  # keep the original gpgsig over the changed tree: git itself must reject it
        import pygit2

        repo = pygit2.Repository(str(led.path))
        orig = repo[chain[1]]
        content = repo.create_commit_string(orig.author, orig.committer, orig.message,
                                            pygit2.Oid(hex=led.tree_with(chain[1], writes)),
                                            [orig.parents[0].id])
        bad = str(repo.create_commit_with_signature(content, orig.gpg_signature[0].decode()))
        assert git_verify_commit(led.path, led.info["allowed"], bad).returncode != 0
    led.set_tip(led.replay(bad, chain[2:3], led.info["k1"]))
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (1, bad), f
    assert ("manifest.json" in f["why"] and "digest" in f["why"]) or (
        resign == "old_signature" and "bad commit signature" in f["why"]), f


def test_stored_manifest_overwritten_by_a_later_signed_commit(led: Ledger):
    chain = led.chain()
    tail, first = led.entry(chain[4], 4), led.entry(chain[4], 1)
    forged = forged_manifest(led, chain[4], first)
    path = manifest_path(first)
    new = {**tail, "seq": 5, "prev": entry_digest(tail), "files": {path: sha(forged)},
           "type": "quarantine", "manifest_digest": None,
           "dataset_slug": first["dataset_slug"],
           "dataset_version_id": first["dataset_version_id"],
           "idempotency_key": "sha256:" + "cd" * 32,
           "quarantine": {"reason_code": "other", "remediation": "none", "owner": None,
                          "due": None, "actor": {"principal": "github:mallory",
                                                 "role": "steward"}}}
    tree = led.tree_with(chain[4], {path: forged, entry_path(5): render(new)})
    bad = led.commit(tree, [chain[4]], "kfm-ledger: #5", key=led.info["k2"], like=chain[4])
    led.set_tip(bad)
    assert git_verify_commit(led.path, led.info["allowed"], bad).returncode == 0
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (5, bad) and "immutable" in f["why"], f


def test_reordered_entries(led: Ledger):
    """Cherry-pick entry 3's commit before entry 2's, both re-signed by an allowed key."""
    chain = led.chain()
    k2 = led.info["k2"]
    third = {p: led.read(chain[3], p) for p in led.changed(chain[3])}
    second = {p: led.read(chain[2], p) for p in led.changed(chain[2])}
    a = led.commit(led.tree_with(chain[1], third), [chain[1]], led.message(chain[3]),
                   key=k2, like=chain[3])
    b = led.commit(led.tree_with(a, second), [a], led.message(chain[2]), key=k2, like=chain[2])
    led.set_tip(led.replay(b, chain[4:], k2))
    assert git_verify_commit(led.path, led.info["allowed"], a).returncode == 0
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (2, a), f
    assert "000000002.json is missing" in f["why"] or "expected 2" in f["why"], f


def test_replayed_old_entry(led: Ledger):
    """Entry 1 appended again as seq 5 (seq/prev fixed up, validly signed)."""
    chain = led.chain()
    old, tail = led.entry(chain[4], 1), led.entry(chain[4], 4)
    replayed = {**old, "seq": 5, "prev": entry_digest(tail)}  # same signer (K1), re-signed
    writes = {p: led.read(chain[1], p) for p in old["files"]}  # its files, as they were
    writes[entry_path(5)] = render(replayed)
    tree = led.tree_with(chain[4], writes)
    bad = led.commit(tree, [chain[4]], led.message(chain[1]), key=led.info["k1"], like=chain[4])
    led.set_tip(bad)
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (5, bad), f
    assert any(w in f["why"] for w in ("replay", "promoted twice", "unchanged files",
                                        "immutable", "bundle is stored already")), f


def signed_merge(led: Ledger) -> str:
    chain = led.chain()
    merge = led.commit(led.tree_with(chain[4], {}), [chain[4], chain[2]], "merge side work",
                       key=led.info["k2"], like=chain[4])
    led.set_tip(merge)
    return merge


def test_merge_commit_on_the_ledger(led: Ledger):
    merge = signed_merge(led)
    assert git_verify_commit(led.path, led.info["allowed"], merge).returncode == 0
    f = rejected(led)
    assert "merge" in f["why"] and merge in f["why"], f


def test_merge_commit_named_in_structured_failure(led: Ledger):
    merge = signed_merge(led)
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (5, merge), f


def test_policy_bundle_digest_rolled_back(led: Ledger):
    """Entry 4 (made under bundle B) edited to claim bundle A, re-signed by its key."""
    chain = led.chain()
    old, entry = led.entry(chain[4], 1), led.entry(chain[4], 4)
    assert old["policy_bundle_digest"] != entry["policy_bundle_digest"]
    entry["policy_bundle_digest"] = old["policy_bundle_digest"]
    bad = led.recommit(chain[4], chain[3], led.info["k2"], {entry_path(4): render(entry)})
    led.set_tip(bad)
    assert git_verify_commit(led.path, led.info["allowed"], bad).returncode == 0
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (4, bad) and "polic" in f["why"], f


def test_extra_file_in_the_stored_policy_bundle(led: Ledger):
    """A policy file the bundle index does not list, slipped into a promotion's stored
    bundle (validly signed): replay would load it, so verify must refuse it."""
    chain = led.chain()
    entry = led.entry(chain[1], 1)
    store = bundle_paths(entry).files  # v2: the shared policy/<digest hex>/files/
    extra = {f"{store}/builtin/zz_allow.rego": b"package kfm.promote\n"}
    bad = led.recommit(chain[1], chain[0], led.info["k1"], extra)
    led.set_tip(led.replay(bad, chain[2:], led.info["k1"]))
    f = rejected(led)
    assert (f["seq"], f["commit"]) == (1, bad), f
    assert "index.json does not list" in f["why"], f
