"""Reading the ledger at a commit, and writing new trees without a checkout.

`update_tree` rebuilds only the trees on the paths an append touches (pygit2 TreeBuilder
seeded with the previous tree), so an append costs O(1) tree objects whatever the size of
the ledger. `scratch_repo` gives dry runs and staged patches a throw-away object database
that borrows the real one through git's alternates: they can build and hash the would-be
commit with the same code, while the real repository gains no object and no ref.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2

from promote_action.errors import LedgerError
from promote_action.ledger.entry import ROOT_README, entry_digest, entry_paths, genesis_prev

BLOB = pygit2.enums.FileMode.BLOB
TREE = pygit2.enums.FileMode.TREE


def open_repo(path: Path) -> pygit2.Repository:
    try:
        return pygit2.Repository(str(path))
    except (pygit2.GitError, KeyError) as e:
        raise LedgerError(f"not a git repository ({e})", file=str(path)) from None


def branch_ref(branch: str) -> str:
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


def resolve_tip(repo: pygit2.Repository, ref: str) -> pygit2.Oid | None:
    try:
        target = repo.references[ref].resolve().target
    except KeyError:
        return None
    if not isinstance(target, pygit2.Oid):
        raise LedgerError(f"{ref} does not resolve to a commit")
    return target


def tree_at(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Tree:
    """The tree `oid` names; anything else in its place is a malformed ledger."""
    obj = repo.get(oid)
    if not isinstance(obj, pygit2.Tree):
        raise LedgerError(f"ledger object {oid} is not a tree")
    return obj


def blob_data(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    """The bytes of blob `oid`; anything else in its place is a malformed ledger."""
    obj = repo.get(oid)
    if not isinstance(obj, pygit2.Blob):
        raise LedgerError(f"ledger object {oid} is not a file")
    return obj.data


class LedgerView:
    """Read-only access to the ledger tree at one commit (or an empty ledger)."""

    def __init__(self, repo: pygit2.Repository, commit_id: pygit2.Oid | None):
        self.repo = repo
        self.commit_id = commit_id
        self.tree = repo[commit_id].peel(pygit2.Tree) if commit_id is not None else None
        # Folders already parsed, by path. A path lookup from the root re-parses every
        # folder on the way, and libgit2 keeps only small trees (4 KiB) parsed: a query
        # reading 1,000 entries of one 1,000-name shard would parse that shard 1,000 times.
        self._folders: dict[str, pygit2.Tree | None] = {}

    def _folder(self, path: str) -> pygit2.Tree | None:
        """Folder `path` (None: there is none), found from its parent folder: each
        folder is read once per view (a path lookup from the root would read the
        dataset's folder, 1,000 versions at 1,000 promotions, again for every folder
        below it)."""
        if path in self._folders:
            return self._folders[path]
        assert self.tree is not None
        head, slash, name = path.rpartition("/")
        folder: pygit2.Tree | None = None
        parent = None if not name or (slash and not head) else (
            self._folder(head) if head else self.tree)  # an empty component: no folder
        if parent is not None:
            try:
                obj = parent[name]
            except KeyError:
                pass
            else:
                if obj.type == pygit2.enums.ObjectType.TREE:
                    folder = tree_at(self.repo, obj.id)
        self._folders[path] = folder
        return folder

    def parsed(self) -> dict[pygit2.Oid, pygit2.Tree]:
        """The folders this view has read, by id: `update_tree` starts from them instead
        of reading them again."""
        return {t.id: t for t in self._folders.values() if t is not None}

    def read(self, path: str) -> bytes | None:
        if self.tree is None:
            return None
        head, slash, name = path.rpartition("/")
        if not name or (slash and not head):
            return None
        folder = self._folder(head) if head else self.tree
        if folder is None:
            return None
        try:
            obj = folder[name]
        except KeyError:
            return None
        if obj.type != pygit2.enums.ObjectType.BLOB:
            return None
        return blob_data(self.repo, obj.id)

    def read_json(self, path: str) -> Any:
        raw = self.read(path)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise LedgerError(f"ledger file is not JSON ({e})", file=path) from None

    def list_dir(self, path: str) -> list[str]:
        if self.tree is None:
            return []
        try:
            obj = self.tree[path] if path else self.tree
        except KeyError:
            return []
        if obj.type != pygit2.enums.ObjectType.TREE:
            return []
        return sorted(e.name or "" for e in tree_at(self.repo, obj.id))

    def _last_name(self, path: str) -> list[str]:
        """The shard's last entry name without listing 1,000 names (tree entries are
        sorted, and entry names sort numerically); a full listing only as a fallback."""
        tree = self._folder(path)
        if tree is None:
            return []
        last = tree[len(tree) - 1].name if len(tree) else None
        if last is not None and last.endswith(".json"):
            return [last]
        return [n for n in self.list_dir(path) if n.endswith(".json")]

    def _newest_fanned(self, top: str) -> str | None:
        """Path of the newest entry under v3's `entries/<top>/` (3/2/2-digit folders,
        see `entry.entry_path`), reading one ≤100-name folder per level."""
        path = f"entries/{top}"
        for width in (2, 2):
            folder = self._folder(path)
            subs = [n for e in (folder if folder is not None else [])
                    if (n := e.name or "").isdigit() and len(n) == width]
            if not subs:
                return None
            path = f"{path}/{subs[-1]}"
        last = self._last_name(path)
        return f"{path}/{last[-1]}" if last else None

    def head_entry(self) -> tuple[int, str, dict[str, Any] | None]:
        """(seq, digest, entry) of the newest entry; (0, genesis prev, None) when empty.
        A ledger may hold entries of both places (v1/v2 shards of 6 digits, v3 folders of
        3): the newest is the one with the higher seq."""
        tops = [s for s in self.list_dir("entries") if s.isdigit()]
        found: list[str] = []
        fanned = [s for s in tops if len(s) == 3]
        if fanned:
            path = self._newest_fanned(fanned[-1])
            found += [path] if path else []
        for shard in reversed([s for s in tops if len(s) == 6]):
            names = self._last_name(f"entries/{shard}")
            if names:
                found.append(f"entries/{shard}/{names[-1]}")
                break
        if found:
            path = max(found, key=lambda p: p.rpartition("/")[2])  # 9-digit names
            entry = self.read_json(path)
            if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int):
                raise LedgerError("ledger head entry is malformed", file=path)
            return entry["seq"], entry_digest(entry), entry
        readme = self.read(ROOT_README)
        if readme is None:
            raise LedgerError("ledger branch has no root README.md (not a kfm ledger?)")
        return 0, genesis_prev(readme), None

    def read_entry(self, seq: int) -> tuple[str, Any]:
        """(path, parsed JSON) of entry `seq` at its v3 place or its v1/v2 one; the path
        is the v3 one and the value None when neither holds it."""
        paths = entry_paths(seq)
        for path in paths:
            value = self.read_json(path)
            if value is not None:
                return path, value
        return paths[0], None

    def entry_files(self) -> list[str]:
        """Every entry file of both places, newest first (a full listing: `ledger log`
        without `--dataset`)."""
        out: list[str] = []

        def walk(path: str, depth: int) -> None:
            for name in self.list_dir(path):
                if depth == 0 and name.endswith(".json"):
                    out.append(f"{path}/{name}")
                elif depth > 0 and name.isdigit():
                    walk(f"{path}/{name}", depth - 1)

        for top in self.list_dir("entries"):
            if top.isdigit():
                walk(f"entries/{top}", 2 if len(top) == 3 else 0)
        return sorted(out, key=lambda p: p.rpartition("/")[2], reverse=True)


def update_tree(repo: pygit2.Repository, base: pygit2.Tree | None,
                writes: dict[str, pygit2.Oid],
                known: dict[pygit2.Oid, pygit2.Tree] | None = None) -> pygit2.Oid:
    """New tree = `base` with `writes` (path -> blob id) applied; untouched subtrees shared.
    `known`: folders already parsed (by id), used instead of reading them again."""
    files: dict[str, pygit2.Oid] = {}
    subdirs: dict[str, dict[str, pygit2.Oid]] = {}
    for path, oid in writes.items():
        head, _, rest = path.partition("/")
        if not head or head in (".", "..") or path.endswith("/"):
            raise LedgerError(f"refusing to write malformed ledger path {path!r}")
        if rest:
            subdirs.setdefault(head, {})[rest] = oid
        else:
            files[head] = oid
    if set(files) & set(subdirs):
        raise LedgerError(f"ledger path is both a file and a directory: {sorted(files)}")
    tb = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, oid in files.items():
        tb.insert(name, oid, BLOB)
    for name, sub in subdirs.items():
        sub_base = None
        if base is not None and name in base:
            obj = base[name]
            if obj.type != pygit2.enums.ObjectType.TREE:
                raise LedgerError(f"ledger path {name!r} is a file, expected a directory")
            sub_base = known.get(obj.id) if known else None
            if sub_base is None:
                sub_base = tree_at(repo, obj.id)
        tb.insert(name, update_tree(repo, sub_base, sub, known), TREE)
    return tb.write()  # type: ignore[no-any-return]


@contextlib.contextmanager
def scratch_repo(repo: pygit2.Repository) -> Iterator[pygit2.Repository]:
    """A temporary bare repo that reads `repo`'s objects (alternates) and writes its own."""
    tmp = tempfile.mkdtemp(prefix="kfm-ledger-scratch-")
    try:
        yield open_scratch(repo, Path(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_scratch(repo: pygit2.Repository, path: Path) -> pygit2.Repository:
    """A bare repo at `path` that reads `repo`'s objects through git's alternates."""
    pygit2.init_repository(str(path), bare=True)
    objects = Path(repo.path) / "objects"
    (path / "objects" / "info" / "alternates").write_text(f"{objects.resolve()}\n")
    return pygit2.Repository(str(path))  # reopen so the alternates are read
