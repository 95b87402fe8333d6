"""Offline verification of a whole ledger branch, oldest commit first.

Checked for every commit: linear history (no merges), an SSH signature by a key the
trust root allows at the commit's time, exactly one new entry whose seq/prev continue the
chain, the commit changes exactly the files the entry lists (nothing else, nothing
deleted, only allow-listed destinations), each with the digest the entry records; for a
promotion or a denial, the stored decision record, capsule and policy bundle agree with
the entry; for a promotion, the manifest, its DSSE envelope (same signer), in-toto
subjects and (when tags are checked) its signed tag agree, the version and the manifest
are new, and no later commit touches a promoted version's files. Across entries: a
policy bundle digest never comes back after another bundle superseded it (rollback).

The per-commit work (`checks.py`) is independent between commits, so long ledgers are
checked by worker processes over contiguous chunks while this process runs the
sequential chain checks on their results in order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pygit2

from promote_action.ledger.checks import Bad, CommitChecker, Facts
from promote_action.ledger.entry import ENTRY_TYPES, ROOT_README, genesis_prev, version_dir

PARALLEL_MIN = 400  # below this, forking workers costs more than it saves
CHUNK = 250
TAG_PREFIX = "refs/tags/kfm/"


@dataclass
class VerifyResult:
    ok: bool
    seq: int = 0
    head_digest: str | None = None
    head_commit: str | None = None
    entries: int = 0
    failure: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    tags_checked: bool = False
    replayed: int = 0

    @property
    def checkpoint(self) -> str | None:
        return f"{self.seq}:{self.head_digest}" if self.head_digest else None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoint": self.checkpoint,
                "head_commit": self.head_commit, "counts": self.counts,
                "tags_checked": self.tags_checked, "replayed": self.replayed,
                "failure": self.failure}


@dataclass
class Options:
    checkpoint: tuple[int, str] | None = None
    check_tags: bool | None = None  # None: check when any kfm/ tag exists
    replay: Any = None  # a replay.Replayer, or None
    jobs: int | None = None  # worker processes; None = by size and CPU count


def parse_checkpoint(text: str) -> tuple[int, str]:
    from promote_action.errors import UsageError

    seq, _, digest = text.partition(":")
    if not seq.isdigit() or not digest.startswith("sha256:") or len(digest) != 71:
        raise UsageError("--checkpoint must be SEQ:sha256:<64 hex> (as printed by verify)")
    return int(seq), digest


def linear_history(repo: pygit2.Repository, tip: pygit2.Oid
                   ) -> tuple[list[pygit2.Oid], pygit2.Oid | None]:
    """(first-parent chain root first, the oldest merge on it or None)."""
    walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.simplify_first_parent()
    chain, merge = [], None
    for commit in walker:
        if len(commit.parent_ids) > 1:
            merge = commit.id  # the walk goes newest first: keep the oldest
        chain.append(commit.id)
    chain.reverse()
    return chain, merge


def kfm_tags(repo: pygit2.Repository) -> list[str]:
    return [r for r in repo.references if r.startswith(TAG_PREFIX)]


# -- worker side ----------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_init(repo_path: str, trust: Any, dests: list[str], tags: bool,
                 replay: Any) -> None:
    repo = pygit2.Repository(repo_path)
    _WORKER["checker"] = CommitChecker(repo, trust, dests, tags)
    _WORKER["replay"] = replay


def _check_one(checker: CommitChecker, replay: Any, seq: int, commit: pygit2.Oid,
               parent: pygit2.Oid) -> Facts | tuple[int, str, str]:
    try:
        facts = checker.check(seq, commit, parent)
        if replay is not None and facts.type in ("promotion", "denied"):
            facts.replay = replay.replay_commit(checker.repo, commit, seq)
        return facts
    except Bad as e:
        return (seq, str(commit), str(e))
    except (pygit2.GitError, KeyError, ValueError, TypeError, AttributeError) as e:
        # a malformed object the checks did not foresee: a finding, never a pass
        return (seq, str(commit), f"cannot check this commit ({type(e).__name__}: {e})")


def _check_chunk(chunk: list[tuple[int, str, str]]) -> list[Facts | tuple[int, str, str]]:
    checker, replay = _WORKER["checker"], _WORKER["replay"]
    out = []
    for seq, c, p in chunk:
        r = _check_one(checker, replay, seq, pygit2.Oid(hex=c), pygit2.Oid(hex=p))
        out.append(r)
        if isinstance(r, tuple):
            break
    return out


class Sequence:
    """The checks that need every earlier entry: chain, immutability, replays, rollback."""

    def __init__(self, prev: str):
        self.prev = prev
        self.immutable: set[str] = set()
        self.manifests: set[str] = set()
        self.promoted: dict[tuple[str, str], str] = {}
        self.policies: list[str] = []  # distinct bundle digests in order of first use
        self.counts: dict[str, int] = {t: 0 for t in ENTRY_TYPES}

    def step(self, f: Facts) -> None:
        if f.prev != self.prev:
            raise Bad("entry prev does not match the previous entry's digest (chain broken)")
        for path in f.paths:
            if path in self.immutable:
                raise Bad(f"{path} belongs to an already promoted version (immutable)")
        if f.type in ("promotion", "denied"):
            self.policy(f.policy_digest or "")
        if f.type == "promotion":
            if (f.slug, f.version) in self.promoted:
                raise Bad(f"version {f.version} of {f.slug} is promoted twice")
            if f.manifest_digest in self.manifests:
                raise Bad("manifest already recorded by an earlier entry (replay)")
            self.promoted[(f.slug, f.version)] = f.commit
            self.manifests.add(f.manifest_digest or "")
            vdir = version_dir(f.slug, f.version) + "/"
            self.immutable.update(p for p in f.paths
                                  if p.startswith(vdir) and p != f"{vdir}events.json")
        self.prev = f.digest
        self.counts[f.type] += 1

    def policy(self, digest: str) -> None:
        """A bundle digest may repeat while it is current, never after being superseded."""
        if self.policies and self.policies[-1] == digest:
            return
        if digest in self.policies:
            raise Bad(f"policy bundle rolled back: {digest} was superseded by "
                      f"{self.policies[-1]} and is used again")
        self.policies.append(digest)


def _results(repo: pygit2.Repository, work: list[tuple[int, str, str]], trust: Any,
             dests: list[str], opts: Options, tags: bool
             ) -> Iterator[Facts | tuple[int, str, str]]:
    jobs = opts.jobs if opts.jobs is not None else min(os.cpu_count() or 1, 4)
    if jobs <= 1 or len(work) < PARALLEL_MIN:
        _worker_init(repo.path, trust, dests, tags, opts.replay)
        for seq, c, p in work:
            r = _check_one(_WORKER["checker"], opts.replay, seq, pygit2.Oid(hex=c),
                           pygit2.Oid(hex=p))
            yield r
            if isinstance(r, tuple):
                return
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    # long contiguous chunks: a worker's tree cache carries from one commit to the next
    size = max(CHUNK, -(-len(work) // (jobs * 4)))
    chunks = [work[i:i + size] for i in range(0, len(work), size)]
    with ctx.Pool(jobs, _worker_init,
                  (repo.path, trust, dests, tags, opts.replay)) as pool:
        for chunk in pool.imap(_check_chunk, chunks):
            yield from chunk
            if chunk and isinstance(chunk[-1], tuple):
                pool.terminate()
                return


@contextmanager
def own_object_checks() -> Iterator[None]:
    """libgit2 re-hashes every object it reads with SHA-1DC, which cost 60% of a read
    here. While verifying, the checks hash what they use themselves instead (`checks.py`:
    commits, tags, trees and blobs against their ids with SHA-1, stored files against the
    entry's SHA-256), so libgit2's own pass is turned off for the duration. Objects
    libgit2 reads for path lookups are not re-hashed: what they yield is bound by the
    expected-tree check, whose id must equal the one in the signed commit."""
    pygit2.settings.enable_strict_hash_verification(False)
    try:
        yield
    finally:
        pygit2.settings.enable_strict_hash_verification(True)


def verify_ledger(repo: pygit2.Repository, tip: pygit2.Oid, trust: Any, destinations: list[str],
                  checkpoint: tuple[int, str] | None = None,
                  options: Options | None = None) -> VerifyResult:
    with own_object_checks():
        return _verify_ledger(repo, tip, trust, destinations, checkpoint, options)


def _verify_ledger(repo: pygit2.Repository, tip: pygit2.Oid, trust: Any, destinations: list[str],
                   checkpoint: tuple[int, str] | None = None,
                   options: Options | None = None) -> VerifyResult:
    opts = options or Options(checkpoint=checkpoint)
    checkpoint = opts.checkpoint if opts.checkpoint is not None else checkpoint
    tags = bool(kfm_tags(repo)) if opts.check_tags is None else opts.check_tags
    seq, commit_id = 0, None
    state: Sequence | None = None
    replayed = 0
    try:
        chain, merge = linear_history(repo, tip)
        if merge is not None:
            seq, commit_id = chain.index(merge), merge
            raise Bad(f"commit {merge} is a merge (the ledger is linear)")
        commit_id = chain[0]
        state = Sequence(_root(repo, trust, chain[0], destinations))
        if checkpoint and checkpoint[0] == 0 and checkpoint[1] != state.prev:
            raise Bad("ledger root differs from the checkpoint (fork)")
        work = [(i, str(chain[i]), str(chain[i - 1])) for i in range(1, len(chain))]
        for r in _results(repo, work, trust, destinations, opts, tags):
            if isinstance(r, tuple):
                seq, commit_id = r[0], pygit2.Oid(hex=r[1])
                raise Bad(r[2])
            seq, commit_id = r.seq, pygit2.Oid(hex=r.commit)
            state.step(r)
            if r.extra.get("tag_error"):
                raise Bad(r.extra["tag_error"])
            if r.replay is not None:
                replayed += 1
                if r.replay.get("mismatch"):
                    raise Bad(r.replay["mismatch"])
            if checkpoint and checkpoint[0] == seq and checkpoint[1] != state.prev:
                raise Bad("entry at the checkpoint differs (history was rewritten or forked)")
        if checkpoint and checkpoint[0] > len(chain) - 1:
            seq = len(chain) - 1
            raise Bad(f"ledger has {seq} entries but the checkpoint is at {checkpoint[0]} "
                      "(rolled back)")
        if tags:
            _orphan_tags(repo, state)
    except Bad as e:
        counts = state.counts if state else {}
        return VerifyResult(False, seq, None, None, max(seq - 1, 0), {
            "seq": seq, "commit": str(commit_id) if commit_id is not None else None,
            "why": str(e)}, counts, tags, replayed)
    n = len(chain) - 1
    return VerifyResult(True, n, state.prev, str(tip), n, None, state.counts, tags, replayed)


def _root(repo: pygit2.Repository, trust: Any, root_id: pygit2.Oid, dests: list[str]
          ) -> str:
    checker = CommitChecker(repo, trust, dests)
    commit = checker.commit(root_id)
    checker.signer(commit)
    names = [e.name for e in commit.tree]
    if names != [ROOT_README]:
        raise Bad(f"root commit must hold only {ROOT_README}, found {names}")
    return genesis_prev(checker.blob(commit.tree, ROOT_README))


def _orphan_tags(repo: pygit2.Repository, state: Sequence) -> None:
    """Every kfm/ tag must belong to a promotion on this ledger (no forged extras)."""
    for ref in kfm_tags(repo):
        parts = ref[len(TAG_PREFIX):].split("/")
        if len(parts) != 2 or tuple(parts) not in state.promoted:
            raise Bad(f"tag {ref} names no promotion on this ledger")
