"""Entry layouts side by side: v1 entries (policy bundle under every record, unbounded
dataset README) and v2 entries (bundle stored once per digest under `policy/<hex>/`,
bounded README) in one ledger verify, replay and answer `ledger log`/`show` alike; and
a v2 ledger's cost per promotion does not grow with its history."""

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
    trusted_target,
    verify,
    version_id,
)

from promote_action.ledger.entry import entry_path
from promote_action.ledger.readme import LIMIT
from promote_action.ledger.replay import Replayer
from promote_action.ledger.writer import append_event

REF = "refs/heads/kfm-ledger"


def entries(repo: pygit2.Repository, n: int) -> list[dict[str, Any]]:
    tree = repo[repo.references[REF].target].tree
    return [json.loads(repo[tree[entry_path(i)].id].data) for i in range(1, n + 1)]


@pytest.fixture
def mixed(tmp_path: Path) -> dict[str, Any]:
    """3 v1 entries (an older ledger), then 3 v2 entries appended by today's writer."""
    _, allowed, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    new_ledger(repo_dir, key)
    w = DirectWriter(repo_dir, key, layout_version="v1")
    for i in range(3):
        w.append(synthetic_promotion(key, "alpha_data", version_id(i)))
    w.finish()
    lt = trusted_target(repo_dir, key)
    for i in range(3, 6):
        assert append_event(lt, synthetic_promotion(key, "alpha_data", version_id(i)),
                            key).status == "recorded"
    return {"dir": repo_dir, "allowed": allowed, "key": key,
            "repo": pygit2.Repository(str(repo_dir))}


def test_old_and_new_layout_verify_side_by_side(mixed, run_cli):
    repo = mixed["repo"]
    got = entries(repo, 6)
    assert [e["kfm_ledger_entry_version"] for e in got] == ["v1"] * 3 + ["v2"] * 3
    v1_files, v2_first, v2_next = got[0]["files"], got[3]["files"], got[4]["files"]
    assert any(p.endswith("/policy/index.json") and p.startswith("datasets/")
               for p in v1_files)
    digest = got[3]["policy_bundle_digest"][7:]
    assert f"policy/{digest}/index.json" in v2_first  # first v2 use stores the bundle
    assert not any(p.startswith("policy/") or "/policy/" in p for p in v2_next)  # reuse
    from promote_action.schemas import schema_errors

    assert all(schema_errors("ledger_entry.schema.json", e) == [] for e in got)
    res = verify(mixed["dir"], mixed["allowed"], jobs=1)
    assert res.ok and res.entries == 6, res.failure
    r = run_cli("verify", "--repo", mixed["dir"], "--allowed-signers", mixed["allowed"])
    assert r.code == 0, r.out


def test_replay_reads_both_layouts(mixed, require_opa):
    res = verify(mixed["dir"], mixed["allowed"], replay=Replayer.available())
    assert res.ok and res.replayed == 6, res.failure


def test_v2_entry_may_not_rewrite_a_stored_bundle(mixed):
    """A v2 entry listing an already stored bundle's index again (write-once store)."""
    from test_ledger_tamper import chain, edit, recommit, set_tip

    repo, key = mixed["repo"], mixed["key"]
    last = chain(repo)[-1]
    got = entries(repo, 6)
    index_path = f"policy/{got[3]['policy_bundle_digest'][7:]}/index.json"
    raw = repo[last.tree[index_path].id].data
    entry = got[5]
    import hashlib

    entry["files"][index_path] = "sha256:" + hashlib.sha256(raw).hexdigest()
    from promote_action.ledger.entry import render_json

    tree = edit(repo, last, {entry_path(6): render_json(entry), index_path: raw})
    set_tip(repo, recommit(repo, key, last.parents[0].id, tree, last.message))
    res = verify(mixed["dir"], mixed["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == 6, res.failure
    assert "stored already" in res.failure["why"], res.failure


def test_v2_entry_bundle_must_exist(mixed):
    """A v2 promotion naming a bundle digest that is not stored on the ledger."""
    from test_ledger_tamper import chain, edit, recommit, set_tip

    from promote_action.ledger.entry import render_json

    repo, key = mixed["repo"], mixed["key"]
    last = chain(repo)[-1]
    entry = entries(repo, 6)[5]
    entry["policy_bundle_digest"] = "sha256:" + "1" * 64
    tree = edit(repo, last, {entry_path(6): render_json(entry)})
    set_tip(repo, recommit(repo, key, last.parents[0].id, tree, last.message))
    res = verify(mixed["dir"], mixed["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == 6, res.failure
    assert "index.json is missing" in res.failure["why"], res.failure


def test_dataset_readme_is_bounded_and_log_lists_everything(tmp_path, run_cli):
    _, allowed, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    new_ledger(repo_dir, key)
    n = LIMIT + 5
    w = DirectWriter(repo_dir, key)
    for i in range(n):
        w.append(synthetic_promotion(key, "alpha_data", version_id(i)))
        w.append(synthetic_promotion(key, "beta_data", version_id(1000 + i)))
    w.finish()
    lt = trusted_target(repo_dir, key)  # the real writer continues the bounded README
    append_event(lt, synthetic_promotion(key, "alpha_data", version_id(n)), key)
    repo = pygit2.Repository(str(repo_dir))
    tree = repo[repo.references[REF].target].tree
    readme = repo[tree["datasets/alpha_data/README.md"].id].data.decode()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    assert len(rows) == LIMIT and version_id(n) in rows[0], readme
    assert f"Showing the newest {LIMIT} of {n + 1} events" in readme
    assert "kfm-promote ledger log --dataset alpha_data" in readme
    r = run_cli("ledger", "log", "--repo", repo_dir, "--dataset", "alpha_data",
                "--format", "json")
    assert r.code == 0, r.err
    logged = json.loads(r.out)
    assert [e["dataset_version_id"] for e in logged] == [version_id(i)
                                                         for i in range(n, -1, -1)]
    assert all(e["dataset_slug"] == "alpha_data" for e in logged)
    r = run_cli("ledger", "show", "--repo", repo_dir, "alpha_data", version_id(3),
                "--format", "json")
    assert r.code == 0 and json.loads(r.out)["events"][0]["seq"] == 7, r.out
    assert verify(repo_dir, allowed).ok


def test_view_reads_equal_plain_lookups_and_refuse_malformed_paths(mixed):
    """LedgerView keeps parsed folders between reads: every file it reads (twice, in any
    order) has the bytes a plain libgit2 path lookup gives, and empty path segments,
    folders and missing names read as nothing."""
    from promote_action.ledger.store import LedgerView

    repo = mixed["repo"]
    tree = repo[repo.references[REF].target].tree
    paths = _files(repo, tree)
    view = LedgerView(repo, repo.references[REF].target)
    for path in paths + list(reversed(paths)):
        assert view.read(path) == repo[tree[path].id].data, path
    assert len(paths) > 50
    some = next(p for p in paths if p.count("/") >= 2)
    for bad in ("/" + some, some.replace("/", "//", 1), some + "/", some.rsplit("/", 1)[0],
                some + "x", "", "/", "nope/README.md"):
        assert view.read(bad) is None, bad


def test_update_tree_from_the_views_folders_writes_the_same_tree(mixed):
    """An append builds its trees from the folders its plan already read
    (`LedgerView.parsed`); the result must be the tree built by reading them again,
    and a folder parsed under another id must not be taken for the one written."""
    from promote_action.ledger.store import LedgerView, update_tree

    repo = mixed["repo"]
    tip = repo.references[REF].target
    tree = repo[tip].tree
    view = LedgerView(repo, tip)
    folders = sorted({p.rsplit("/", 1)[0] for p in _files(repo, tree) if "/" in p})
    for folder in folders:
        assert view.read(f"{folder}/none") is None  # parses the folder and those above
    known = view.parsed()
    assert {tree[f].id for f in folders} <= set(known)
    blob = repo.create_blob(b"new")
    writes = {f"{folder}/new.json": blob for folder in folders[:5]}
    writes["entries/999999/999999999.json"] = blob
    plain = update_tree(repo, tree, writes)
    assert update_tree(repo, tree, writes, known) == plain
    # folders keyed by their own ids only: another folder under a written folder's id
    # would change the result, so ids are what the reuse goes by
    other = {oid: known[next(o for o in known if o != oid)] for oid in known}
    assert update_tree(repo, tree, writes, other) != plain


def _files(repo, tree):  # type: ignore[no-untyped-def]
    """Every file path in `tree`."""
    out, stack = [], [("", tree)]
    while stack:
        prefix, t = stack.pop()
        for e in t:
            if e.type_str == "tree":
                stack.append((f"{prefix}{e.name}/", repo[e.id]))
            else:
                out.append(prefix + (e.name or ""))
    return out
