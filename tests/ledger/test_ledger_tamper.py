"""Ledger verification against real tampering: each forgery is built with pygit2 on a
real ledger and must be caught by `verify` (and by the CLI, exit 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pygit2
import pytest
from ledgerlib import (
    DirectWriter,
    git_repo,
    make_key,
    new_ledger,
    synthetic_promotion,
    synthetic_quarantine,
    verify,
    version_id,
)

from promote_action.ledger.append import identity
from promote_action.ledger.entry import entry_digest, render_json
from promote_action.ledger.store import update_tree
from promote_action.ledger.writer import append_event
from promote_action.signing.commit import create_signed_commit

REF = "refs/heads/kfm-ledger"


@pytest.fixture
def ledger(tmp_path: Path) -> dict[str, Any]:
    _, allowed, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    lt = new_ledger(repo_dir, key)
    for i in range(3):
        append_event(lt, synthetic_promotion(key, "alpha_data", version_id(i),
                                             at=f"2026-02-2{i}T10:00:00Z"), key)
    append_event(lt, synthetic_quarantine("alpha_data", version_id(2)), key)
    res = verify(repo_dir, allowed)
    assert res.ok, res.failure
    return {"dir": repo_dir, "repo": pygit2.Repository(str(repo_dir)), "key": key,
            "allowed": allowed, "checkpoint": (res.seq, res.head_digest), "tmp": tmp_path}


def chain(repo: pygit2.Repository) -> list[pygit2.Commit]:
    out = []
    c = repo[repo.references[REF].target]
    while True:
        out.append(c)
        if not c.parents:
            return list(reversed(out))
        c = c.parents[0]


def recommit(repo: pygit2.Repository, key: Any, parent: pygit2.Oid | None, tree: pygit2.Oid,
             message: str, at: str = "2026-02-25T10:00:00Z") -> pygit2.Oid:
    who = identity(at)
    parents = [parent] if parent is not None else []
    if key is None:
        return repo.create_commit(None, who, who, message, tree, parents)
    return create_signed_commit(repo, key, tree=tree, parents=parents, message=message,
                                author=who, committer=who)


def replay(repo: pygit2.Repository, key: Any, base: pygit2.Oid, commits: list[pygit2.Commit]
           ) -> pygit2.Oid:
    """Re-create `commits` (same trees) on top of `base`, signed with `key`."""
    tip = base
    for c in commits:
        tip = recommit(repo, key, tip, c.tree_id, c.message)
    return tip


def edit(repo: pygit2.Repository, commit: pygit2.Commit, writes: dict[str, bytes]) -> pygit2.Oid:
    return update_tree(repo, commit.tree, {p: repo.create_blob(b) for p, b in writes.items()})


def set_tip(repo: pygit2.Repository, oid: pygit2.Oid) -> None:
    repo.references.create(REF, oid, force=True)


def assert_bad(ledger: dict[str, Any], why: str, checkpoint: Any = None, **opts: Any) -> None:
    res = verify(ledger["dir"], ledger["allowed"], checkpoint, **opts)
    assert not res.ok
    assert why in res.failure["why"], res.failure


def test_clean_ledger_verifies_and_git_accepts_signatures(ledger, run_cli):
    r = run_cli("verify", "--repo", ledger["dir"], "--allowed-signers", ledger["allowed"])
    assert r.code == 0, r.out + r.err
    seq, digest = ledger["checkpoint"]
    assert f"checkpoint: {seq}:{digest}" in r.out
    r = run_cli("verify", "--repo", ledger["dir"], "--allowed-signers", ledger["allowed"],
                "--checkpoint", f"{seq}:{digest}")
    assert r.code == 0


def test_edited_entry_byte_breaks_chain(ledger):
    repo, key = ledger["repo"], ledger["key"]
    commits = chain(repo)
    target = commits[2]  # entry #2
    path = "entries/000/00/00/000000002.json"
    raw = repo[target.tree[path].id].data
    forged = raw.replace(b'"at": "2026-02-21', b'"at": "2026-02-11')
    assert forged != raw
    tip = recommit(repo, key, target.parents[0].id, edit(repo, target, {path: forged}),
                   target.message)
    set_tip(repo, replay(repo, key, tip, commits[3:]))
    # the signed tag of promotion #2 still names the original commit: caught at #2 ...
    assert_bad(ledger, "not at the promotion's commit")
    # ... and without tags (an auditor clone that did not fetch them) the forged #2 no
    # longer matches its own row in the version's events.json (and #3 would not continue
    # the forged #2: its commit also reverts the forged file)
    res = verify(ledger["dir"], ledger["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == 2, res.failure
    assert "events.json is not the previous list plus this entry" in res.failure["why"]


def test_edited_last_entry_without_key_fails_signature(ledger):
    repo = ledger["repo"]
    last = chain(repo)[-1]
    path = "entries/000/00/00/000000004.json"
    raw = repo[last.tree[path].id].data.replace(b"re-check license", b"re-check licensX")
    content = repo.create_commit_string(last.author, last.committer, last.message,
                                        edit(repo, last, {path: raw}), [last.parents[0].id])
    sig = last.gpg_signature[0].decode()  # the old signature on new content
    set_tip(repo, repo.create_commit_with_signature(content, sig))
    assert_bad(ledger, "bad commit signature")


def test_deleted_last_entry_detected_by_checkpoint(ledger):
    repo = ledger["repo"]
    set_tip(repo, chain(repo)[-1].parents[0].id)
    assert verify(ledger["dir"], ledger["allowed"]).ok  # a shorter ledger is self-consistent
    assert_bad(ledger, "rolled back", ledger["checkpoint"])


def test_reordered_entries_detected(ledger):
    repo, key = ledger["repo"], ledger["key"]
    commits = chain(repo)
    tip = replay(repo, key, commits[1].id, [commits[3], commits[2], commits[4]])
    set_tip(repo, tip)
    assert_bad(ledger, "")


def test_history_rewritten_with_unknown_key(ledger):
    repo = ledger["repo"]
    _, _, other = make_key(ledger["tmp"] / "other", name="mallory")
    commits = chain(repo)
    root = recommit(repo, other, None, commits[0].tree_id, commits[0].message)
    set_tip(repo, replay(repo, other, root, commits[1:]))
    assert_bad(ledger, "not trusted")


def test_unsigned_commit_detected(ledger):
    repo = ledger["repo"]
    last = chain(repo)[-1]
    set_tip(repo, recommit(repo, None, last.parents[0].id, last.tree_id, last.message))
    assert_bad(ledger, "not signed")


def test_merge_commit_detected(ledger):
    repo, key = ledger["repo"], ledger["key"]
    commits = chain(repo)
    who = identity("2026-02-26T10:00:00Z")
    merge = create_signed_commit(repo, key, tree=commits[-1].tree_id,
                                 parents=[commits[-1].id, commits[2].id], message="merge\n",
                                 author=who, committer=who)
    set_tip(repo, merge)
    assert_bad(ledger, "merge")


def test_replaced_stored_manifest_detected(ledger):
    repo, key = ledger["repo"], ledger["key"]
    commits = chain(repo)
    path = f"datasets/alpha_data/0/0/{version_id(0)}/manifest.json"
    manifest = json.loads(repo[commits[1].tree[path].id].data)
    manifest["approvals"] = []
    forged = render_json(manifest)
    # a later, validly signed commit rewriting an old manifest (and listing it honestly)
    last = commits[-1]
    entry = json.loads(repo[last.tree["entries/000/00/00/000000004.json"].id].data)
    new = {**entry, "seq": 5, "prev": entry_digest(entry), "dataset_version_id": version_id(0),
           "files": {path: "sha256:" +
           __import__("hashlib").sha256(forged).hexdigest()}}
    tree = edit(repo, last, {path: forged, "entries/000/00/00/000000005.json": render_json(new)})
    set_tip(repo, recommit(repo, key, last.id, tree, "kfm-ledger: #5\n"))
    assert_bad(ledger, "immutable")


def test_manifest_swapped_inside_its_own_commit_detected(ledger):
    repo, key = ledger["repo"], ledger["key"]
    commits = chain(repo)
    path = f"datasets/alpha_data/0/0/{version_id(0)}/manifest.json"
    forged = repo[commits[1].tree[path].id].data.replace(b"public", b"publik")
    tip = recommit(repo, key, commits[0].id, edit(repo, commits[1], {path: forged}),
                   commits[1].message)
    set_tip(repo, replay(repo, key, tip, commits[2:]))
    assert_bad(ledger, "digest")


def test_replayed_old_entry_detected(ledger):
    repo, key = ledger["repo"], ledger["key"]
    commits = chain(repo)
    last = commits[-1]
    old = json.loads(repo[last.tree["entries/000/00/00/000000001.json"].id].data)
    tail = json.loads(repo[last.tree["entries/000/00/00/000000004.json"].id].data)
    replayed = {**old, "seq": 5, "prev": entry_digest(tail)}
    # same files as the original promotion re-written (identical bytes) + the replayed entry
    writes = {p: repo[commits[1].tree[p].id].data for p in old["files"]}
    writes["entries/000/00/00/000000005.json"] = render_json(replayed)
    set_tip(repo, recommit(repo, key, last.id, edit(repo, last, writes), "kfm-ledger: #5\n"))
    res = verify(ledger["dir"], ledger["allowed"])
    assert not res.ok and res.failure["seq"] == 5, res.failure


def test_verify_cli_reports_first_bad_entry(ledger, run_cli):
    repo = ledger["repo"]
    last = chain(repo)[-1]
    set_tip(repo, recommit(repo, None, last.parents[0].id, last.tree_id, last.message))
    r = run_cli("verify", "--repo", ledger["dir"], "--allowed-signers", ledger["allowed"],
                "--format", "json")
    assert r.code == 1
    out = json.loads(r.out)
    assert out["failure"]["seq"] == 4 and out["failure"]["commit"] == str(
        repo.references[REF].target)


@pytest.fixture(scope="module")
def long_base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """70 entries (direct writer): the shard is large enough for verify's append path."""
    tmp = tmp_path_factory.mktemp("long")
    _, allowed, key = make_key(tmp / "keys")
    repo_dir = git_repo(tmp / "repo")
    new_ledger(repo_dir, key)
    w = DirectWriter(repo_dir, key)
    for i in range(70):
        w.append(synthetic_promotion(key, f"ds_{i % 7}", version_id(i)))
    w.finish()
    assert verify(repo_dir, allowed).ok
    repo = pygit2.Repository(str(repo_dir))
    return {"dir": repo_dir, "repo": repo, "key": key, "allowed": allowed,
            "tip": repo.references[REF].target}


@pytest.fixture
def long_ledger(long_base: dict[str, Any]) -> Any:
    yield long_base
    set_tip(long_base["repo"], long_base["tip"])


@pytest.mark.parametrize("extra", ["entries/000/00/00/000000005.json",
                                   "entries/000/00/00/000000099.json"])
def test_large_shard_unlisted_entry_write_detected(long_ledger, extra):
    """Rewriting an old entry, or slipping in a future one, next to the new entry."""
    repo, key = long_ledger["repo"], long_ledger["key"]
    last = chain(repo)[-1]
    tree = edit(repo, last, {extra: b'{"forged": true}\n'})
    set_tip(repo, recommit(repo, key, last.parents[0].id, tree, last.message))
    res = verify(long_ledger["dir"], long_ledger["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == 70, res.failure
    assert extra in res.failure["why"] or "does not list" in res.failure["why"], res.failure


def _with_mode(repo: pygit2.Repository, tree: pygit2.Tree, path: str, mode: int) -> pygit2.Oid:
    """`tree` with the file at `path` re-inserted under another file mode (same blob)."""
    head, _, rest = path.partition("/")
    tb = repo.TreeBuilder(tree)
    if rest:
        sub = repo.get(tree[head].id)
        tb.insert(head, _with_mode(repo, sub, rest, mode), pygit2.enums.FileMode.TREE)
    else:
        tb.insert(head, tree[head].id, mode)
    return tb.write()  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", [pygit2.enums.FileMode.LINK,
                                  pygit2.enums.FileMode.BLOB_EXECUTABLE])
def test_large_shard_entry_that_is_not_a_regular_file_detected(long_ledger, mode):
    """The new entry appended at the end of a large shard (the path verify reads from the
    shard's bytes), stored as a symlink or an executable instead of a regular file."""
    repo, key = long_ledger["repo"], long_ledger["key"]
    last = chain(repo)[-1]
    tree = _with_mode(repo, last.tree, "entries/000/00/00/000000070.json", mode)
    set_tip(repo, recommit(repo, key, last.parents[0].id, tree, last.message))
    res = verify(long_ledger["dir"], long_ledger["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == 70, res.failure
    assert "not a regular file" in res.failure["why"], res.failure


def test_large_shard_entry_with_a_rewritten_neighbour_detected(long_ledger):
    """The new entry appended and, in the same commit, an old one replaced by a blob of
    the same size: the shard is no longer a pure append and must still be judged."""
    repo, key = long_ledger["repo"], long_ledger["key"]
    last = chain(repo)[-1]
    old = repo.get(last.tree["entries/000/00/00/000000069.json"].id).data
    forged = old.replace(b'"seq": 69', b'"seq": 96')
    assert forged != old and len(forged) == len(old)
    tree = edit(repo, last, {"entries/000/00/00/000000069.json": forged})
    set_tip(repo, recommit(repo, key, last.parents[0].id, tree, last.message))
    res = verify(long_ledger["dir"], long_ledger["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == 70, res.failure
    assert "does not list" in res.failure["why"], res.failure
