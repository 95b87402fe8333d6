"""An attacker's toolbox: plain git (and pygit2 for trees) on a copy of the ledger origin.

Forged commits are written with `git commit-tree` (signed with `-S` and an SSH key file
through git's own ssh-keygen signing, or unsigned) — not with kfm code — so the suite
checks `verify` against forgeries produced by independent tooling. Entry digests are
computed with the `rfc8785` package, independently of the product's encoder.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pygit2
import rfc8785
from promote_harness import REF, first_parent_chain, git, git_verify_commit

__all__ = ["REF", "Ledger", "entry_digest", "git_verify_commit", "render"]


def entry_digest(entry: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(entry)).hexdigest()


def render(value: Any) -> bytes:
    """The ledger's stored byte form (ledger/README.md: sorted keys, 2-space indent)."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def entry_path(seq: int) -> str:
    """ledger/README.md, layout v3: the 9-digit seq split 3/2/2 into folders."""
    name = f"{seq:09d}"
    return f"entries/{name[:3]}/{name[3:5]}/{name[5:7]}/{name}.json"


def version_folder(slug: str, version: str) -> str:
    """ledger/README.md, layout v3: a new version's folder is in its hash folders, the
    first and the second hex digit of the 12-hex suffix of its id."""
    return f"datasets/{slug}/{version[-12]}/{version[-11]}/{version}"


class Ledger:
    """A ledger repository under attack (bare copy of the origin)."""

    def __init__(self, path: Path):
        self.path = path
        self.info: dict[str, Any] = {}

    # -- reading ---------------------------------------------------------------------
    def chain(self) -> list[str]:
        """[root, commit of seq 1, commit of seq 2, ...]."""
        return first_parent_chain(self.path)

    def read(self, rev: str, path: str) -> bytes:
        return subprocess.run(["git", "-C", str(self.path), "cat-file", "blob", f"{rev}:{path}"],
                              check=True, capture_output=True).stdout

    def entry(self, rev: str, seq: int) -> dict[str, Any]:
        return json.loads(self.read(rev, entry_path(seq)))  # type: ignore[no-any-return]

    def entries(self) -> list[dict[str, Any]]:
        tip = self.chain()[-1]
        return [self.entry(tip, s) for s in range(1, len(self.chain()))]

    def changed(self, rev: str) -> list[str]:
        """Paths commit `rev` writes relative to its first parent."""
        out = git("-C", str(self.path), "diff-tree", "-r", "--no-commit-id", "--name-only",
                  f"{rev}^", rev).stdout
        return out.split()

    # -- writing (the attack) ----------------------------------------------------------
    def tree_with(self, base: str, writes: dict[str, bytes]) -> str:
        """`base`'s tree with `writes` applied (path -> new bytes), written as objects."""
        repo = pygit2.Repository(str(self.path))
        index = pygit2.Index()
        index.read_tree(repo.revparse_single(f"{base}^{{tree}}"))
        for p, data in writes.items():
            index.add(pygit2.IndexEntry(p, repo.create_blob(data), pygit2.enums.FileMode.BLOB))
        return str(index.write_tree(repo))

    def commit(self, tree: str, parents: list[str], message: str, *, key: Path | None,
               like: str | None = None) -> str:
        """A commit by plain git; signed with `key` (sshsig via git) unless None. Author
        and dates copied from `like` so the forgery looks like the real thing."""
        env = {"GIT_AUTHOR_NAME": "kfm-promote", "GIT_AUTHOR_EMAIL": "kfm-promote@ledger.invalid",
               "GIT_COMMITTER_NAME": "kfm-promote",
               "GIT_COMMITTER_EMAIL": "kfm-promote@ledger.invalid",
               "GIT_AUTHOR_DATE": "1771592400 +0000", "GIT_COMMITTER_DATE": "1771592400 +0000"}
        if like is not None:
            when = git("-C", str(self.path), "log", "-1", "--format=%at %ct", like).stdout.split()
            env["GIT_AUTHOR_DATE"] = f"{when[0]} +0000"
            env["GIT_COMMITTER_DATE"] = f"{when[1]} +0000"
        args = ["-C", str(self.path)]
        if key is not None:
            args += ["-c", "gpg.format=ssh", "-c", f"user.signingKey={key}"]
        args += ["commit-tree", tree, "-m", message]
        for p in parents:
            args += ["-p", p]
        if key is not None:
            args.append("-S")
        return git(*args, env=env).stdout.strip()

    def message(self, rev: str) -> str:
        return git("-C", str(self.path), "log", "-1", "--format=%B", rev).stdout.rstrip("\n")

    def recommit(self, rev: str, parent: str, key: Path | None,
                 writes: dict[str, bytes] | None = None) -> str:
        """Re-create commit `rev` on `parent` (its own tree, plus `writes`)."""
        tree = self.tree_with(rev, writes or {})
        return self.commit(tree, [parent], self.message(rev), key=key, like=rev)

    def replay(self, tip: str, revs: list[str], key: Path | None) -> str:
        for rev in revs:
            tip = self.recommit(rev, tip, key)
        return tip

    def set_tip(self, rev: str) -> None:
        """Move the branch: what a `git push --force` by an attacker does on the server."""
        git("-C", str(self.path), "update-ref", REF, rev)
