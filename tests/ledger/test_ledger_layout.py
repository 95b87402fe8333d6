"""Entry layouts side by side: v1 entries (policy bundle under every record, unbounded
dataset README), v2 entries (bundle stored once per digest under `policy/<hex>/`,
bounded README) and v3 entries (entries and new version folders fanned out into small
folders) in one ledger verify, replay and answer `ledger log`/`show` alike; and a
ledger's cost per promotion does not grow with its history."""

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
    trusted_target,
    verify,
    version_id,
)

from promote_action.ledger.entry import entry_path, entry_paths
from promote_action.ledger.readme import LIMIT
from promote_action.ledger.replay import Replayer
from promote_action.ledger.writer import append_event

REF = "refs/heads/kfm-ledger"
N = 8  # entries in the `mixed` ledger


def entries(repo: pygit2.Repository, n: int) -> list[dict[str, Any]]:
    tree = repo[repo.references[REF].target].tree
    out = []
    for i in range(1, n + 1):
        path = next(p for p in entry_paths(i) if p in tree)
        out.append(json.loads(repo[tree[path].id].data))
    return out


@pytest.fixture
def mixed(tmp_path: Path) -> dict[str, Any]:
    """2 v1 entries and 2 v2 entries (older ledgers), then 4 v3 entries by today's
    writer: a quarantine and its release of a version recorded under v2 (its events go
    to its existing folder), and two new promotions (into their hash folders)."""
    _, allowed, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    new_ledger(repo_dir, key)
    for layout, versions in (("v1", (0, 1)), ("v2", (2, 3))):
        w = DirectWriter(repo_dir, key, layout_version=layout)
        for i in versions:
            w.append(synthetic_promotion(key, "alpha_data", version_id(i)))
        w.finish()
    lt = trusted_target(repo_dir, key)
    for ev in (synthetic_quarantine("alpha_data", version_id(3)),
               synthetic_quarantine("alpha_data", version_id(3), release=True),
               synthetic_promotion(key, "alpha_data", version_id(4)),
               synthetic_promotion(key, "alpha_data", version_id(0x5a0000000005))):
        assert append_event(lt, ev, key).status == "recorded"
    return {"dir": repo_dir, "allowed": allowed, "key": key,
            "repo": pygit2.Repository(str(repo_dir))}


def test_old_and_new_layout_verify_side_by_side(mixed, run_cli):
    repo = mixed["repo"]
    got = entries(repo, N)
    assert [e["kfm_ledger_entry_version"] for e in got] == ["v1"] * 2 + ["v2"] * 2 + ["v3"] * 4
    tree = repo[repo.references[REF].target].tree
    for e in got:  # each entry where its layout puts it
        assert entry_path(e["seq"], e["kfm_ledger_entry_version"]) in tree
    assert "entries/000000/000000004.json" in tree and "entries/000/00/00/000000005.json" in tree
    v1_files, v2_first, v2_next = got[0]["files"], got[2]["files"], got[3]["files"]
    assert any(p.endswith("/policy/index.json") and p.startswith("datasets/")
               for p in v1_files)
    digest = got[2]["policy_bundle_digest"][7:]
    assert f"policy/{digest}/index.json" in v2_first  # first v2 use stores the bundle
    assert not any(p.startswith("policy/") or "/policy/" in p for p in v2_next)  # reuse
    # a version recorded under v2 keeps its folder; new versions go to their hash folders
    assert f"datasets/alpha_data/{version_id(3)}/events.json" in got[4]["files"]
    assert f"datasets/alpha_data/0/0/{version_id(4)}/manifest.json" in got[6]["files"]
    assert f"datasets/alpha_data/5/a/{version_id(0x5a0000000005)}/manifest.json" \
        in got[7]["files"]
    from promote_action.schemas import schema_errors

    assert all(schema_errors("ledger_entry.schema.json", e) == [] for e in got)
    res = verify(mixed["dir"], mixed["allowed"], jobs=1)
    assert res.ok and res.entries == N, res.failure
    r = run_cli("verify", "--repo", mixed["dir"], "--allowed-signers", mixed["allowed"])
    assert r.code == 0, r.out
    r = run_cli("ledger", "log", "--repo", mixed["dir"], "--format", "json")
    assert [e["seq"] for e in json.loads(r.out)] == list(range(N, 0, -1)), r.out
    r = run_cli("ledger", "log", "--repo", mixed["dir"], "--dataset", "alpha_data",
                "--format", "json")
    assert [e["seq"] for e in json.loads(r.out)] == list(range(N, 0, -1)), r.out
    r = run_cli("ledger", "show", "--repo", mixed["dir"], "alpha_data", "--format", "json")
    assert json.loads(r.out)["versions"] == sorted(
        [version_id(i) for i in range(5)] + [version_id(0x5a0000000005)]), r.out
    for version, seqs in ((version_id(3), [4, 5, 6]), (version_id(0x5a0000000005), [8])):
        r = run_cli("ledger", "show", "--repo", mixed["dir"], "alpha_data", version,
                    "--format", "json")
        assert [e["seq"] for e in json.loads(r.out)["events"]] == seqs, r.out
    readme = repo[tree["datasets/alpha_data/README.md"].id].data.decode()
    assert f"](5/a/{version_id(0x5a0000000005)}/manifest.json)" in readme  # links resolve
    assert "](../../entries/000/00/00/000000008.json)" in readme
    assert "](../../entries/000000/000000004.json)" in readme


def test_replay_reads_both_layouts(mixed, require_opa):
    res = verify(mixed["dir"], mixed["allowed"], replay=Replayer.available())
    assert res.ok and res.replayed == 6, res.failure  # the six promotions


def test_v2_entry_may_not_rewrite_a_stored_bundle(mixed):
    """An entry listing an already stored bundle's index again (write-once store)."""
    from test_ledger_tamper import chain, edit, recommit, set_tip

    repo, key = mixed["repo"], mixed["key"]
    last = chain(repo)[-1]
    got = entries(repo, N)
    index_path = f"policy/{got[2]['policy_bundle_digest'][7:]}/index.json"
    raw = repo[last.tree[index_path].id].data
    entry = got[-1]
    import hashlib

    entry["files"][index_path] = "sha256:" + hashlib.sha256(raw).hexdigest()
    from promote_action.ledger.entry import render_json

    tree = edit(repo, last, {entry_path(N): render_json(entry), index_path: raw})
    set_tip(repo, recommit(repo, key, last.parents[0].id, tree, last.message))
    res = verify(mixed["dir"], mixed["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == N, res.failure
    assert "stored already" in res.failure["why"], res.failure


def test_v2_entry_bundle_must_exist(mixed):
    """A v2 promotion naming a bundle digest that is not stored on the ledger."""
    from test_ledger_tamper import chain, edit, recommit, set_tip

    from promote_action.ledger.entry import render_json

    repo, key = mixed["repo"], mixed["key"]
    last = chain(repo)[-1]
    entry = entries(repo, N)[-1]
    entry["policy_bundle_digest"] = "sha256:" + "1" * 64
    tree = edit(repo, last, {entry_path(N): render_json(entry)})
    set_tip(repo, recommit(repo, key, last.parents[0].id, tree, last.message))
    res = verify(mixed["dir"], mixed["allowed"], check_tags=False)
    assert not res.ok and res.failure["seq"] == N, res.failure
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


def _append_bent(mixed: dict[str, Any], layout: str, ev: Any, folder: str | None = None
                 ) -> None:
    """Append `ev` with the direct writer in `layout`, its version's folder forced to
    `folder` (what a buggy or hostile writer could do), signed by the trusted key."""
    w = DirectWriter(mixed["dir"], mixed["key"], layout_version=layout)
    if folder is not None:
        w.folders[(ev.slug, ev.version)] = folder
    w.append(ev)
    w.finish()


def _fails_at(mixed: dict[str, Any], seq: int, why: str) -> None:
    res = verify(mixed["dir"], mixed["allowed"], jobs=1)
    assert not res.ok and res.failure["seq"] == seq, res.failure
    assert why in res.failure["why"], res.failure


def test_v3_entry_must_use_the_folder_a_v2_version_has(mixed):
    """Version 3 was recorded by a v2 entry: a v3 event writing a second folder for it,
    in its hash folders, is refused."""
    v = version_id(3)
    _append_bent(mixed, "v3", synthetic_quarantine("alpha_data", v),
                 f"datasets/alpha_data/0/0/{v}")
    _fails_at(mixed, N + 1, "outside the allowed destinations")


def test_new_v3_version_must_use_its_hash_folders(mixed):
    v = version_id(9)
    _append_bent(mixed, "v3", synthetic_promotion(mixed["key"], "alpha_data", v),
                 f"datasets/alpha_data/{v}")
    _fails_at(mixed, N + 1, "outside the allowed destinations")


def test_older_layout_entry_cannot_add_to_a_v3_version(mixed):
    v = version_id(4)  # recorded by a v3 entry, in hash folders 0/0
    _append_bent(mixed, "v2", synthetic_quarantine("alpha_data", v),
                 f"datasets/alpha_data/{v}")
    _fails_at(mixed, N + 1, f"is recorded in datasets/alpha_data/0/0/{v}/")


@pytest.mark.parametrize(("layout", "place"), [("v3", "v2"), ("v2", "v3")])
def test_entry_must_sit_where_its_layout_puts_it(mixed, monkeypatch, layout, place):
    import ledgerlib

    real = ledgerlib.entry_path
    monkeypatch.setattr(ledgerlib, "entry_path", lambda seq, _layout="v3": real(seq, place))
    _append_bent(mixed, layout, synthetic_promotion(mixed["key"], "beta_data",
                                                    version_id(7)))
    _fails_at(mixed, N + 1, f"holds a {layout} entry, which belongs at "
                            f"{real(N + 1, layout)}")


def test_head_entry_and_listing_span_both_entry_places(mixed):
    """The newest entry is found across v2 shards and v3 folders, whichever is newer, and
    the full listing holds every entry once."""
    from promote_action.ledger.store import LedgerView

    repo = mixed["repo"]
    view = LedgerView(repo, repo.references[REF].target)
    assert view.head_entry()[0] == N
    assert [int(p[-14:-5]) for p in view.entry_files()] == list(range(N, 0, -1))
    assert view.read_entry(4)[0] == "entries/000000/000000004.json"
    assert view.read_entry(5)[0] == "entries/000/00/00/000000005.json"
    assert view.read_entry(N + 1)[1] is None
    _append_bent(mixed, "v2", synthetic_promotion(mixed["key"], "beta_data", version_id(8)))
    view = LedgerView(repo, repo.references[REF].target)  # a v2 entry after v3 ones
    assert view.head_entry()[0] == N + 1
    assert verify(mixed["dir"], mixed["allowed"], jobs=1).ok


def test_the_action_finds_recorded_merges_in_both_entry_places(tmp_path):
    """The action's verify mode lists merges without a ledger entry; the merges entries
    name are read from v2 shards and v3 folders alike."""
    from types import SimpleNamespace

    from promote_action.github.verify import recorded_merges

    _, _, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    new_ledger(repo_dir, key)
    w = DirectWriter(repo_dir, key, layout_version="v2")
    w.append(synthetic_promotion(key, "alpha_data", version_id(0), merge_commit="a" * 40))
    w.finish()
    lt = trusted_target(repo_dir, key)
    append_event(lt, synthetic_promotion(key, "alpha_data", version_id(1),
                                         merge_commit="b" * 40), key)
    append_event(lt, synthetic_promotion(key, "alpha_data", version_id(2)), key)
    opts = SimpleNamespace(repo=repo_dir)
    assert recorded_merges(opts, REF) == {"a" * 40, "b" * 40}  # type: ignore[arg-type]
