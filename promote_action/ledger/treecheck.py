"""Does a commit's tree equal its parent's with exactly the listed files written?

`verify` asks this for every commit. Rebuilding the expected tree with libgit2's
TreeBuilder (and writing it to a scratch store) cost more than the rest of a commit's
checks, so the expected tree objects are built in memory, in git's own byte format
(`<mode> SP <name> NUL <20-byte id>`, names sorted with directories compared as
"name/"), hashed as git hashes them, and the expected root id is compared with the
commit's: exactly the old check (equal ids: nothing added, changed or deleted beyond the
writes), without writing objects. Only the parent's trees on the written paths are
needed (an untouched subtree keeps its id unopened), and those are usually the trees
the previous commit's check just built, kept in a small cache keyed by their id.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from typing import cast

import pygit2

TREE = b"40000"
BLOB = b"100644"
TREE_TYPE = pygit2.enums.ObjectType.TREE
APPEND_MIN = 4096  # bytes: above this, try the append-only fast path before parsing
REPARSE = 64  # entries added one by one before a folder's index is parsed afresh
KEEP = 4096  # trees remembered (LRU; a commit writes ~15)
_ENTRY = re.compile(rb"([0-7]{5,6}) ([^\0/]+)\0.{20}", re.S)
_WHOLE = re.compile(rb"(?:[0-7]{5,6} [^\0/]+\0.{20})*", re.S)
# an empty, ".", ".." or ".git" component, or a NUL: never part of a ledger tree
_BAD_PATH = re.compile(r"(?:^|/)(?:\.\.?|\.git)?(?:/|$)|\x00", re.I)

Trie = dict[bytes, "bytes | Trie"]  # name -> raw blob id (a file) or the writes below it


class Malformed(Exception):
    """A path or object that cannot be part of the expected tree."""


class WholeTree(bytes):
    """A write of a whole directory: the raw id of a tree already proven to hold exactly
    the files it stands for. Over an existing, different directory it would mean
    something else than writing those files one by one, so `expected` then raises
    `WholeTreeConflict` and the caller checks again with the files themselves."""


class WholeTreeConflict(Exception):
    """A whole-directory write meets an existing directory with other contents."""


def sort_key(mode: bytes, name: bytes) -> bytes:
    """git orders tree entries by name, a directory's name compared as "name/"."""
    return name + b"/" if mode == TREE else name


def tree_entry(mode: bytes, name: bytes, oid: bytes) -> bytes:
    """One entry of a tree object, in git's byte format."""
    return mode + b" " + name + b"\0" + oid


def write_trie(writes: dict[str, pygit2.Oid], trees: dict[str, WholeTree] | None = None
               ) -> Trie:
    """Paths -> nested {name: sub-trie | raw blob id | WholeTree}, split once for all
    levels. `trees` are whole-directory writes (directory path -> proven tree id)."""
    root: Trie = {}
    items: list[tuple[str, bytes]] = [(p, o.raw) for p, o in writes.items()]
    if trees:
        items += trees.items()
    for path, raw in items:
        if ("//" in path or "\0" in path or path[:1] in ("", "/") or path[-1] == "/"
                or (("/." in path or path[0] == ".") and _BAD_PATH.search(path))):
            raise Malformed(f"malformed path {path!r}")
        *dirs, name = path.encode().split(b"/")
        node = root
        for d in dirs:
            sub = node.setdefault(d, {})
            if not isinstance(sub, dict):
                raise Malformed(f"{path!r}: a path is both a file and a directory")
            node = sub
        if name in node:
            raise Malformed(f"{path!r}: a path is both a file and a directory")
        node[name] = raw
    return root


_SHA1 = hashlib.sha1(usedforsecurity=False)  # copied: cheaper than a fresh constructor


def git_id(kind: bytes, body: bytes) -> bytes:
    """The raw object id git gives an object of this kind with these bytes."""
    h = _SHA1.copy()
    h.update(b"%s %d\0" % (kind, len(body)))
    h.update(body)
    return h.digest()


def tree_id(body: bytes) -> bytes:
    return git_id(b"tree", body)


@dataclass
class Known:
    """A tree whose body hashes to its id; `chunks` (sort key -> entry bytes, keys in
    git order) is filled on first use, so a 1,000-name shard is parsed only if needed."""

    body: bytes
    chunks: dict[bytes, bytes] | None = None
    keys: list[bytes] | None = None
    last: bytes | None = None  # sort key of its last entry, when known without parsing
    young: int = 0  # entries added to `chunks` one by one since it was parsed


class TreeCheck:
    """Builds expected trees in memory and keeps recent ones: the trees a commit writes
    are the trees its child starts from, so a walk in order reads almost no tree.

    A tree that a write replaces is taken out of the cache and its index reused for the
    new tree (no copy): in a linear history the old version is not needed again, and if
    it is (a retry, a revert), it is read and checked again from the object store."""

    def __init__(self, repo: pygit2.Repository, keep: int = KEEP):
        self.repo = repo
        self._read = repo.odb.read
        self._known: dict[bytes, Known] = {}  # insertion order: the oldest goes first
        self._keep = keep

    def known(self, oid: bytes) -> Known:
        found = self._known.get(oid)
        if found is not None:
            return found
        return self._remember(oid, self._load(oid))

    def _load(self, oid: bytes) -> Known:
        kind, body = self._read(pygit2.Oid(raw=oid))
        if kind != TREE_TYPE or tree_id(body) != oid:  # the expected tree is built on it
            raise Malformed(f"{pygit2.Oid(raw=oid)} is not a tree whose bytes hash to its id")
        return Known(body)

    def _take(self, oid: bytes) -> Known:
        """The tree `oid`, no longer cached: the caller turns it into its successor."""
        found = self._known.pop(oid, None)
        return found if found is not None else self._load(oid)

    def _remember(self, oid: bytes, known: Known) -> Known:
        cache = self._known
        cache[oid] = known
        if len(cache) > self._keep:
            del cache[next(iter(cache))]
        return known

    def index(self, known: Known) -> tuple[dict[bytes, bytes], list[bytes]]:
        if known.chunks is None or known.keys is None:
            if _WHOLE.fullmatch(known.body) is None:
                raise Malformed("malformed tree object")
            chunks = {sort_key(m[1], m[2]): m[0] for m in _ENTRY.finditer(known.body)}
            known.chunks, known.keys = chunks, sorted(chunks)
        return known.chunks, known.keys

    def find(self, root: bytes, path: str) -> bytes | None:
        """The raw id of the regular file at `path` in tree `root`, or None when there is
        none (something else at `path` is `Malformed`). Walks the remembered trees (each
        hashed against its id when it was read or built), so the parent's folders the
        previous commits just built are looked up without reading them again: a
        1,000-version dataset folder is one read, not two (libgit2 would read and parse
        the parent's copy once more). Call it before `matches`, which takes the parent's
        trees on the written paths over."""
        *dirs, name = path.encode().split(b"/")
        node = root
        for d in dirs:
            chunks = self.index(self.known(node))[0]
            entry = chunks.get(d + b"/")
            if entry is None:
                if d in chunks:
                    raise Malformed(f"{path!r}: {d.decode(errors='replace')} is a file")
                return None
            node = entry[-20:]
        chunks = self.index(self.known(node))[0]
        entry = chunks.get(name)
        if entry is None:
            if name + b"/" in chunks:
                raise Malformed(f"{path!r} is a directory")
            return None
        if not entry.startswith(BLOB + b" "):
            raise Malformed(f"{path!r} is not a regular file")
        return entry[-20:]

    def matches(self, old: pygit2.Oid, new: pygit2.Oid, writes: dict[str, pygit2.Oid],
                trees: dict[str, WholeTree] | None = None) -> bool:
        """Tree `new` is tree `old` with `writes` (path -> blob id) and the whole new
        directories `trees` applied."""
        return self.expected(old.raw, write_trie(writes, trees)) == new.raw

    def exactly(self, tree: bytes, files: dict[str, pygit2.Oid]) -> bool:
        """Tree `tree` holds exactly `files` (relative path -> blob id), nothing else."""
        return self.expected(None, write_trie(files)) == tree

    def expected(self, old: bytes | None, writes: Trie) -> bytes:
        """Raw id of tree `old` (None: empty) with `writes` applied."""
        if old is None:  # a new directory: nothing to merge with
            return self._fresh(writes)
        base = self._take(old)
        if len(base.body) > APPEND_MIN and all(type(v) is bytes for v in writes.values()):
            body = self.appended(old, base, writes)  # type: ignore[arg-type]
            if body is not None:
                return self._store(body, Known(body, last=max(writes)))
        chunks, keys = self.index(base)  # taken over: changed in place
        for name, value in writes.items():
            kind = type(value)
            oid: bytes
            if kind is bytes:
                key, other, mode, oid = name, name + b"/", BLOB, cast(bytes, value)
            else:
                key = other = name + b"/"
                if kind is dict:
                    before = chunks.get(key)
                    oid = self.expected(before[-20:] if before else None,
                                        value)  # type: ignore[arg-type]
                else:
                    oid = bytes(value)  # type: ignore[arg-type]
                    if name in chunks or chunks.get(key, oid)[-20:] != oid:
                        raise WholeTreeConflict(name.decode(errors="replace"))
                other, mode = name, TREE
            if chunks.pop(other, None) is not None:
                keys.remove(other)
            if key not in chunks:
                bisect.insort(keys, key)
            chunks[key] = tree_entry(mode, name, oid)
        body = b"".join(map(chunks.__getitem__, keys))
        young = base.young + len(writes)
        if young > REPARSE and young * 4 > len(keys):
            # A folder carried from commit to commit gains its entries one at a time,
            # scattered over the heap; joining 1,000 of them then cost three times as
            # much as joining freshly parsed ones. Parse it again from the new body,
            # lazily, once a quarter of it is such late additions.
            return self._store(body, Known(body))
        return self._store(body, Known(body, chunks, keys, young=young))

    def _fresh(self, writes: Trie) -> bytes:
        chunks = {}
        for name, value in writes.items():
            if type(value) is bytes:
                chunks[name] = tree_entry(BLOB, name, value)
            else:
                oid = (self._fresh(value) if isinstance(value, dict)
                       else bytes(value))  # type: ignore[arg-type]
                chunks[name + b"/"] = tree_entry(TREE, name, oid)
        keys = sorted(chunks)
        body = b"".join(map(chunks.__getitem__, keys))
        return self._store(body, Known(body, chunks, keys))

    def _store(self, body: bytes, known: Known) -> bytes:
        oid = tree_id(body)
        self._remember(oid, known)
        return oid

    def appended_file(self, old: bytes, new: bytes, name: bytes) -> bytes | None:
        """The blob id of file `name` if tree `new` is the remembered tree `old` with just
        that file appended after its last name (an entry shard gaining its entry), else
        None. Reading the new shard's bytes once is much cheaper than a parsed lookup of
        1,000 names; the id found here is still bound by the expected-tree check."""
        base = self._known.get(old)
        if base is None:
            return None
        kind, body = self._read(pygit2.Oid(raw=new))
        head = BLOB + b" " + name + b"\0"
        size = len(base.body)
        if (kind != TREE_TYPE or len(body) != size + len(head) + 20
                or body[size:-20] != head or not body.startswith(base.body)):
            return None
        return body[-20:]  # type: ignore[no-any-return]

    def appended(self, old: bytes | None, base: Known, files: dict[bytes, bytes]
                 ) -> bytes | None:
        """Fast path for an entry shard: `files` all sort after the last name of `old`,
        so the expected body is the old one plus their entries (1,000 names unparsed)."""
        floor = base.last
        if floor is None and base.keys:
            floor = base.last = base.keys[-1]
        if floor is None:
            if old is None:
                return None
            tree = self.repo.get(pygit2.Oid(raw=old))
            if not isinstance(tree, pygit2.Tree) or len(tree) == 0:
                return None
            last = tree[len(tree) - 1]
            floor = base.last = ((last.name or "") + ("/" if last.type == TREE_TYPE
                                                      else "")).encode()
        names = sorted(files)
        if names[0] <= floor:
            return None
        return base.body + b"".join(tree_entry(BLOB, n, files[n]) for n in names)
