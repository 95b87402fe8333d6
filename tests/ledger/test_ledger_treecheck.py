"""The in-memory expected-tree check (`treecheck.py`) agrees with libgit2's TreeBuilder,
and the fast entry renderer agrees with `render_json` byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promote_action.errors import LedgerError
from promote_action.ledger.entry import render_json, render_json_fast
from promote_action.ledger.store import update_tree
from promote_action.ledger.treecheck import (
    Malformed,
    TreeCheck,
    WholeTree,
    WholeTreeConflict,
    write_trie,
)

NAMES = st.sampled_from(["a", "b", "a.b", "a-b", "a0", "ab", "entries", "x.json", "README.md",
                         "zz", "é"])
PATHS = st.lists(NAMES, min_size=1, max_size=4).map("/".join)


def _repo(tmp_path: Path) -> pygit2.Repository:
    return pygit2.init_repository(str(tmp_path / "r"), bare=True)


def _base(repo: pygit2.Repository, n_shard: int) -> pygit2.Oid:
    """A parent tree with a big entry shard (the append fast path) and some small dirs."""
    blob = repo.create_blob(b"x")
    writes = {f"entries/000000/{i:09d}.json": blob for i in range(1, n_shard + 1)}
    writes.update({"a/b": blob, "a.b": blob, "a-b/c/d": blob, "README.md": blob})
    return update_tree(repo, None, writes)


def _consistent(paths: list[str]) -> dict[str, None]:
    """Drop paths that would make a path both a file and a directory."""
    out: dict[str, None] = {}
    for p in paths:
        if p in out or any(q.startswith(p + "/") or p.startswith(q + "/") for q in out):
            continue
        out[p] = None
    return out


@settings(max_examples=60, deadline=None)
@given(paths=st.lists(PATHS, min_size=1, max_size=6), data=st.lists(st.binary(max_size=4),
                                                                   min_size=6, max_size=6))
def test_expected_tree_matches_treebuilder(tmp_path_factory: pytest.TempPathFactory,
                                           paths: list[str], data: list[bytes]) -> None:
    repo = _repo(tmp_path_factory.mktemp("t"))
    base = _base(repo, 150)
    old = repo.get(base)
    assert isinstance(old, pygit2.Tree)
    writes = {p: repo.create_blob(data[i % len(data)])
              for i, p in enumerate(_consistent(paths))}
    try:
        want = update_tree(repo, old, writes)
    except LedgerError:  # e.g. a file where the base has a directory
        return
    check = TreeCheck(repo)
    assert check.matches(base, want, writes)
    # a second check reuses remembered trees and must still agree
    assert check.matches(base, want, writes)
    # one listed path fewer: the commit then changes something its entry does not list
    if len(writes) > 1:
        fewer = dict(list(writes.items())[1:])
        assert check.matches(base, want, fewer) is (update_tree(repo, old, fewer) == want)


def test_append_fast_path_and_its_limits(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base = _base(repo, 300)
    old = repo.get(base)
    assert isinstance(old, pygit2.Tree)
    blob = repo.create_blob(b"new")
    nxt = {"entries/000000/000000301.json": blob}
    new = update_tree(repo, old, nxt)
    check = TreeCheck(repo)
    assert check.matches(base, new, nxt)
    # an entry inserted before the last name cannot take the append path, and is still
    # judged exactly (here: it replaces an existing entry's blob)
    earlier = {"entries/000000/000000002.json": blob}
    assert check.matches(base, update_tree(repo, old, earlier), earlier)
    assert not check.matches(base, new, earlier)
    # a deletion is never an exact match
    tb = repo.TreeBuilder(old)
    tb.remove("README.md")
    assert not check.matches(base, tb.write(), {})


def test_append_path_resumes_after_a_slow_path(tmp_path: Path) -> None:
    """A shard judged on the slow path (parsed) still takes the append path next time:
    the check of every later commit must not parse the 1,000-name shard again."""
    repo = _repo(tmp_path)
    base = _base(repo, 300)
    old = repo.get(base)
    assert isinstance(old, pygit2.Tree)
    blob = repo.create_blob(b"new")
    check = TreeCheck(repo)
    earlier = {"entries/000000/000000002.json": blob}  # slow path: indexes the shard
    mid = update_tree(repo, old, earlier)
    assert check.matches(base, mid, earlier)
    nxt = {"entries/000000/000000301.json": blob}
    new = update_tree(repo, repo.get(mid), nxt)
    assert check.matches(mid, new, nxt)
    shard = repo.get(new)["entries/000000"].id.raw  # type: ignore[index]
    assert check.known(shard).chunks is None, "the new shard was built by appending"


def test_whole_tree_write(tmp_path: Path) -> None:
    """A proven directory written as one tree id: the same answer as its files one by one
    when it is new; over an existing directory with other contents it says so."""
    repo = _repo(tmp_path)
    base = _base(repo, 10)
    old = repo.get(base)
    assert isinstance(old, pygit2.Tree)
    one, two = repo.create_blob(b"1"), repo.create_blob(b"2")
    files = {"p/x.rego": one, "p/y/z.json": two}
    sub = update_tree(repo, None, files)
    check = TreeCheck(repo)
    assert check.exactly(sub.raw, files)
    assert not check.exactly(sub.raw, {"p/x.rego": one})  # a file the list lacks
    listed = {f"v/files/{k}": o for k, o in files.items()}
    want = update_tree(repo, old, {"v/entry.json": one, **listed})
    whole = {"v/files": WholeTree(sub.raw)}
    assert check.matches(base, want, {"v/entry.json": one}, whole)
    assert not check.matches(base, want, {}, whole)  # v/entry.json not listed
    # the directory already exists with other contents: the caller must go file by file
    other = update_tree(repo, old, {"v/files/p/x.rego": two})
    with pytest.raises(WholeTreeConflict):
        check.matches(other, want, {"v/entry.json": one}, whole)
    # it exists with exactly these contents: writing it again changes nothing
    same = update_tree(repo, old, listed)
    assert check.matches(same, want, {"v/entry.json": one}, whole)


@pytest.mark.parametrize("path", ["", "/a", "a/", "a//b", "a/./b", "a/../b", ".git/x",
                                  "a/.GIT", "..", "a\0b"])
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(Malformed):
        write_trie({path: pygit2.Oid(hex="1" * 40)})


def test_file_and_directory_conflict_is_refused() -> None:
    oid = pygit2.Oid(hex="1" * 40)
    for writes in ({"a": oid, "a/b": oid}, {"a/b": oid, "a": oid}):
        with pytest.raises(Malformed):
            write_trie(writes)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                          allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(value=JSON)
def test_fast_renderer_is_byte_identical(value: object) -> None:
    parsed = json.loads(render_json(value))  # the value space `verify` renders
    assert render_json_fast(parsed) == render_json(parsed)


def test_appended_file_answers_only_for_a_pure_append(tmp_path: Path) -> None:
    """`appended_file` reads a new shard's bytes instead of looking the entry up: it must
    answer only when the shard is the remembered one plus exactly that regular file."""
    repo = _repo(tmp_path)
    base = _base(repo, 300)
    old = repo.get(base)
    assert isinstance(old, pygit2.Tree)
    shard = old["entries/000000"].id.raw
    blob = repo.create_blob(b"new")
    name = "entries/000000/000000301.json"

    def new_shard(writes: dict[str, pygit2.Oid]) -> bytes:
        return repo.get(update_tree(repo, old, writes))[  # type: ignore[index]
            "entries/000000"].id.raw

    check = TreeCheck(repo)
    appended = new_shard({name: blob})
    assert check.appended_file(shard, appended, b"000000301.json") is None  # not known yet
    check.known(shard)
    assert check.appended_file(shard, appended, b"000000301.json") == blob.raw
    assert check.appended_file(shard, appended, b"000000302.json") is None  # another name
    two = new_shard({name: blob, "entries/000000/000000302.json": blob})
    assert check.appended_file(shard, two, b"000000301.json") is None
    rewritten = new_shard({name: blob, "entries/000000/000000002.json": blob})
    assert check.appended_file(shard, rewritten, b"000000301.json") is None
    tb = repo.TreeBuilder(repo.get(pygit2.Oid(raw=shard)))
    tb.insert("000000301.json", blob, pygit2.enums.FileMode.LINK)
    assert check.appended_file(shard, tb.write().raw, b"000000301.json") is None
    # the shard taken over by a check is read again when asked for once more
    assert check.matches(base, update_tree(repo, old, {name: blob}), {name: blob})
    assert check.matches(base, update_tree(repo, old, {name: blob}), {name: blob})


def test_a_folder_growing_one_version_at_a_time_keeps_matching(tmp_path: Path) -> None:
    """A dataset folder carried from commit to commit gains one version folder per
    commit; past `REPARSE` late additions its index is parsed afresh from the new body.
    Every step, before and after that, must give libgit2's tree id."""
    from promote_action.ledger.treecheck import REPARSE

    repo = _repo(tmp_path)
    blob = repo.create_blob(b"v")
    tip = update_tree(repo, None, {"datasets/ds/README.md": blob})
    check = TreeCheck(repo)
    for i in range(3 * REPARSE):  # versions sort before, between and after the others
        version = f"{(i * 37) % 1000:03d}-{i}"
        writes = {f"datasets/ds/{version}/events.json": repo.create_blob(b"%d" % i),
                  "datasets/ds/README.md": repo.create_blob(b"readme %d" % i)}
        parent = repo.get(tip)
        assert isinstance(parent, pygit2.Tree)
        new = update_tree(repo, parent, writes)
        assert check.matches(tip, new, writes), i
        tip = new


def test_find_walks_remembered_trees(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    blob = repo.create_blob(b"x")
    root = update_tree(repo, None, {"datasets/ds/v1/events.json": blob, "a.b": blob})
    check = TreeCheck(repo)
    assert check.find(root.raw, "datasets/ds/v1/events.json") == blob.raw
    assert check.find(root.raw, "datasets/ds/v2/events.json") is None
    assert check.find(root.raw, "datasets/other/v1/events.json") is None
    with pytest.raises(Malformed, match="is a directory"):
        check.find(root.raw, "datasets/ds/v1")
    with pytest.raises(Malformed, match="is a file"):
        check.find(root.raw, "a.b/x")
    # a symlink or an executable in the parent is not the regular file a writer leaves
    tb = repo.TreeBuilder()
    tb.insert("events.json", blob, pygit2.enums.FileMode.LINK)
    odd = tb.write()
    with pytest.raises(Malformed, match="not a regular file"):
        check.find(odd.raw, "events.json")
    # a tree id whose object is something else is refused, not read as a tree
    with pytest.raises(Malformed, match="not a tree"):
        check.find(blob.raw, "events.json")
