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

from promote_action.ledger.checks import Bad, CommitChecker, Facts, tag_refs
from promote_action.ledger.entry import ROOT_README, genesis_prev
from promote_action.ledger.verify_state import Sequence

PARALLEL_MIN = 400  # below this, forking workers costs more than it saves
CHUNK = 250
CHUNKS_PER_JOB = 16
TAG_PREFIX = "refs/tags/kfm/"


@dataclass(frozen=True)
class Checkpoint:
    """What a successful verify vouches for: entry `seq`, the chain digest of that entry
    and the ledger commit that holds it. The commit id binds the whole prefix (every
    earlier commit, tree and entry, through git's ids), the digest binds the entries
    through our SHA-256 chain; together they are what `--since` continues from.
    Printed as `SEQ:sha256:<64 hex>:<40 hex commit>`; the older `SEQ:sha256:<64 hex>`
    form (no commit) is still read by `--checkpoint`."""

    seq: int
    digest: str
    commit: str | None = None

    def __str__(self) -> str:
        base = f"{self.seq}:{self.digest}"
        return f"{base}:{self.commit}" if self.commit else base


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
    mode: str = "full"  # full | since (only the entries after the checkpoint)
    checked: int = 0  # entries whose commits this run checked
    note: str | None = None  # why a --since run fell back to a full verify

    @property
    def checkpoint(self) -> str | None:
        if not self.head_digest:
            return None
        return str(Checkpoint(self.seq, self.head_digest, self.head_commit))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoint": self.checkpoint,
                "head_commit": self.head_commit, "counts": self.counts,
                "tags_checked": self.tags_checked, "replayed": self.replayed,
                "mode": self.mode, "checked": self.checked, "note": self.note,
                "failure": self.failure}


@dataclass
class Options:
    checkpoint: Checkpoint | tuple[int, str] | None = None
    check_tags: bool | None = None  # None: check when any kfm/ tag exists
    replay: Any = None  # a replay.Replayer, or None
    jobs: int | None = None  # worker processes; None = by size and CPU count
    state_dir: Any = None  # a Path: keep the verified state for `--since` (verify_state.py)


def parse_checkpoint(text: str, *, need_commit: bool = False) -> Checkpoint:
    """`SEQ:sha256:<64 hex>:<40 hex>` (or, without `need_commit`, the older
    `SEQ:sha256:<64 hex>`); anything else is a usage error naming the expected form."""
    from promote_action.errors import UsageError

    parts = text.strip().split(":")
    hexdigits = set("0123456789abcdef")
    ok = (len(parts) in (3, 4) and parts[0].isdigit() and parts[1] == "sha256"
          and len(parts[2]) == 64 and set(parts[2]) <= hexdigits)
    commit = parts[3] if ok and len(parts) == 4 else None
    if commit is not None and (len(commit) != 40 or not set(commit) <= hexdigits):
        ok = False
    if not ok:
        raise UsageError(f"checkpoint {text.strip()[:100]!r} is not SEQ:sha256:<64 hex>:<40 "
                         "hex commit> (as printed by verify)")
    if need_commit and commit is None:
        raise UsageError("--since needs a checkpoint that names its ledger commit "
                         "(SEQ:sha256:<64 hex>:<40 hex commit>, as printed by this version "
                         "of verify); an older SEQ:DIGEST checkpoint works with --checkpoint")
    return Checkpoint(int(parts[0]), f"sha256:{parts[2]}", commit)


def as_checkpoint(value: Checkpoint | tuple[int, str] | None) -> Checkpoint | None:
    if value is None or isinstance(value, Checkpoint):
        return value
    return Checkpoint(value[0], value[1])


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


# -- worker side ----------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_init(repo_path: str, trust: Any, dests: list[str], tags: bool,
                 replay: Any, refs: dict[str, str] | None = None) -> None:
    repo = pygit2.Repository(repo_path)
    _WORKER["checker"] = checker = CommitChecker(repo, trust, dests, tags)
    if refs is not None:  # the tag refs the caller already read (else read when needed)
        checker.preset_tags(refs)
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


def _results(repo: pygit2.Repository, work: list[tuple[int, str, str]], trust: Any,
             dests: list[str], opts: Options, tags: bool,
             refs: dict[str, str] | None = None
             ) -> Iterator[Facts | tuple[int, str, str]]:
    jobs = opts.jobs if opts.jobs is not None else min(os.cpu_count() or 1, 4)
    if jobs <= 1 or len(work) < PARALLEL_MIN:
        _worker_init(repo.path, trust, dests, tags, opts.replay, refs)
        for seq, c, p in work:
            r = _check_one(_WORKER["checker"], opts.replay, seq, pygit2.Oid(hex=c),
                           pygit2.Oid(hex=p))
            yield r
            if isinstance(r, tuple):
                return
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    # contiguous chunks, so a worker's tree cache carries from one commit to the next
    # (a chunk's first commit reads its parent's trees: ~1 ms), but many of them, so the
    # workers finish together (the last chunk is the one the others may wait for)
    size = max(CHUNK, -(-len(work) // (jobs * CHUNKS_PER_JOB)))
    chunks = [work[i:i + size] for i in range(0, len(work), size)]
    with ctx.Pool(jobs, _worker_init,
                  (repo.path, trust, dests, tags, opts.replay, refs)) as pool:
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
    expected-tree check, whose id must equal the one in the signed commit.

    libgit2's object cache keeps its default limit (trees up to 4 KiB): a dataset's
    folder of 1,000 versions (47 KB) is rewritten by every promotion of it, so caching
    the parsed copies only churned the cache (10–20% slower at 100,000 entries); the
    exact-tree check keeps the raw trees it needs (`treecheck.TreeCheck.find`)."""
    settings = pygit2.settings
    settings.enable_strict_hash_verification(False)
    try:
        yield
    finally:
        settings.enable_strict_hash_verification(True)


def verify_ledger(repo: pygit2.Repository, tip: pygit2.Oid, trust: Any, destinations: list[str],
                  checkpoint: tuple[int, str] | None = None,
                  options: Options | None = None) -> VerifyResult:
    """Full verify: every commit from the root; with a checkpoint, also proof that the
    ledger still holds it (same entry digest, and the same commit when it names one)."""
    opts = options or Options(checkpoint=checkpoint)
    with own_object_checks():
        return _verify_full(repo, tip, trust, destinations, opts)


@dataclass
class Run:
    """One verify run's moving parts, shared by the full and the incremental walk."""

    repo: pygit2.Repository
    trust: Any
    destinations: list[str]
    opts: Options
    tags: bool
    seq: int = 0
    commit: pygit2.Oid | None = None
    replayed: int = 0
    checked: int = 0
    refs: dict[str, str] | None = None  # kfm/ tag refs, when already read by the caller

    def fail(self, state: Sequence | None, why: str, mode: str) -> VerifyResult:
        seq, commit = self.seq, self.commit
        return VerifyResult(False, seq, None, None, max(seq - 1, 0), {
            "seq": seq, "commit": str(commit) if commit is not None else None, "why": why},
            state.counts if state else {}, self.tags, self.replayed, mode, self.checked)

    def walk(self, work: list[tuple[int, str, str]], state: Sequence,
             checkpoint: Checkpoint | None) -> None:
        """Check `work` (seq, commit, parent) in order, stepping `state`; raises Bad."""
        for r in _results(self.repo, work, self.trust, self.destinations, self.opts,
                          self.tags, self.refs):
            if isinstance(r, tuple):
                self.seq, self.commit = r[0], pygit2.Oid(hex=r[1])
                raise Bad(r[2])
            self.seq, self.commit = r.seq, pygit2.Oid(hex=r.commit)
            self.checked += 1
            state.step(r)
            for problem in ("tag_error", "events_error"):
                if r.extra.get(problem):
                    raise Bad(r.extra[problem])
            if r.replay is not None:
                self.replayed += 1
                if r.replay.get("mismatch"):
                    raise Bad(r.replay["mismatch"])
            if checkpoint and checkpoint.seq == r.seq:
                at_checkpoint(checkpoint, state.prev, r.commit)

    def done(self, state: Sequence, tip: pygit2.Oid, n: int, mode: str) -> VerifyResult:
        from promote_action.ledger.verify_state import context_digest, save_state

        result = VerifyResult(True, n, state.prev, str(tip), n, None, state.counts, self.tags,
                              self.replayed, mode, self.checked)
        if self.opts.state_dir is not None and n > 0:
            context = context_digest(self.trust, self.destinations, self.tags,
                                     self.opts.replay is not None)
            save_state(self.opts.state_dir, Checkpoint(n, state.prev, str(tip)), context,
                       state)
        return result


def at_checkpoint(checkpoint: Checkpoint, digest: str, commit: str) -> None:
    if checkpoint.digest != digest:
        raise Bad("entry at the checkpoint differs (history was rewritten or forked)")
    if checkpoint.commit is not None and checkpoint.commit != commit:
        raise Bad(f"the checkpoint names commit {checkpoint.commit} at entry "
                  f"#{checkpoint.seq}, the ledger has {commit} there (history rewritten, "
                  "or a checkpoint from another ledger)")


def run_for(repo: pygit2.Repository, trust: Any, destinations: list[str],
            opts: Options) -> Run:
    """The kfm/ tag refs are listed here, once per run, and shared with every worker and
    the final check that each names a promotion."""
    refs = tag_refs(repo)
    tags = bool(refs) if opts.check_tags is None else opts.check_tags
    return Run(repo, trust, destinations, opts, tags, refs=refs)


def _verify_full(repo: pygit2.Repository, tip: pygit2.Oid, trust: Any,
                 destinations: list[str], opts: Options) -> VerifyResult:
    checkpoint = as_checkpoint(opts.checkpoint)
    run = run_for(repo, trust, destinations, opts)
    state: Sequence | None = None
    try:
        chain, merge = linear_history(repo, tip)
        if merge is not None:
            run.seq, run.commit = chain.index(merge), merge
            raise Bad(f"commit {merge} is a merge (the ledger is linear)")
        run.commit = chain[0]
        state = Sequence(_root(repo, trust, chain[0], destinations))
        if checkpoint and checkpoint.seq == 0:
            at_checkpoint(checkpoint, state.prev, str(chain[0]))
        work = [(i, str(chain[i]), str(chain[i - 1])) for i in range(1, len(chain))]
        run.walk(work, state, checkpoint)
        if checkpoint and checkpoint.seq > len(chain) - 1:
            run.seq = len(chain) - 1
            raise Bad(f"ledger has {run.seq} entries but the checkpoint is at "
                      f"{checkpoint.seq} (rolled back)")
        if run.tags:
            promotion_tags(run.refs or {}, state)
    except Bad as e:
        return run.fail(state, str(e), "full")
    return run.done(state, tip, len(chain) - 1, "full")


def _root(repo: pygit2.Repository, trust: Any, root_id: pygit2.Oid, dests: list[str]
          ) -> str:
    checker = CommitChecker(repo, trust, dests)
    commit = checker.commit(root_id)
    checker.signer(commit)
    names = [e.name for e in commit.tree]
    if names != [ROOT_README]:
        raise Bad(f"root commit must hold only {ROOT_README}, found {names}")
    return genesis_prev(checker.blob(commit.tree, ROOT_README))


def promotion_tags(refs: dict[str, str], state: Sequence) -> dict[str, tuple[str, str]]:
    """The tag name of every promotion in `state` -> (slug, version); raises Bad when a
    kfm/ tag in `refs` belongs to none (no forged extras)."""
    names = {f"{TAG_PREFIX}{key[0]}/{key[1]}": key for key in state.promoted}
    stray = refs.keys() - names.keys()
    if stray:
        raise Bad(f"tag {min(stray)} names no promotion on this ledger")
    return names
