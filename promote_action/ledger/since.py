"""Incremental verify: `kfm-promote verify --since CHECKPOINT`.

What a transparency log promises its auditors, on a git ledger: a checkpoint from an
earlier verify (seq, entry chain digest, commit) is proven to be a prefix of today's
ledger, then only the entries after it are checked, each with every check a full verify
makes, continuing the chain from the checkpoint's digest. The cost is proportional to
the new entries:

1. Consistency: the checkpoint commit exists, its bytes hash to its id, it holds entry
   `seq` (with exactly the checkpoint's digest) as its newest entry, and it lies on the
   tip's first-parent chain. Its id binds every earlier commit, tree and entry, so any
   rewrite, drop, reorder or fork of the prefix gives another id and fails here; a tip
   behind the checkpoint is a rollback.
2. The new commits, oldest first, through the same per-commit checks and the same
   sequential checks as a full verify, started from the state a successful verify left
   at the checkpoint (`verify_state.py`: promoted versions, manifests, policy lineage,
   tags). Without a usable state, a full verify runs instead (and says why).
3. Tags: every `kfm/` tag still points at the tag object verified earlier, or is checked
   again; a tag naming no promotion fails, as in a full verify.
"""

from __future__ import annotations

from typing import Any

import pygit2

from promote_action.ledger.checks import Bad, CommitChecker, commit_at, parse_entry
from promote_action.ledger.entry import ROOT_README, entry_path, entry_paths, genesis_prev
from promote_action.ledger.verify import (
    TAG_PREFIX,
    Checkpoint,
    Options,
    Run,
    VerifyResult,
    _verify_full,
    own_object_checks,
    promotion_tags,
    run_for,
)
from promote_action.ledger.verify_state import Sequence, context_digest, load_state


def verify_since(repo: pygit2.Repository, tip: pygit2.Oid, trust: Any,
                 destinations: list[str], checkpoint: Checkpoint,
                 options: Options | None = None) -> VerifyResult:
    opts = options or Options()
    opts.checkpoint = checkpoint
    with own_object_checks():
        run = run_for(repo, trust, destinations, opts)
        run.seq = checkpoint.seq
        try:
            new = consistent(repo, tip, checkpoint, run)
        except Bad as e:
            return run.fail(None, str(e), "since")
        context = context_digest(trust, destinations, run.tags, opts.replay is not None)
        state, why = load_state(opts.state_dir, checkpoint, context)
        if state is None:
            result = _verify_full(repo, tip, trust, destinations, opts)
            result.note = f"full verify: {why}"
            return result
        return _verify_new(run, state, checkpoint, new, tip)


def consistent(repo: pygit2.Repository, tip: pygit2.Oid, checkpoint: Checkpoint,
               run: Run) -> list[pygit2.Oid]:
    """The commits after the checkpoint, oldest first, once the checkpoint is proven to
    be on the tip's first-parent chain; raises Bad naming what is wrong. Walks back from
    the tip by first parents only, so it reads just the new commits (the whole history
    only when the checkpoint is not on it, which fails)."""
    assert checkpoint.commit is not None
    cid = pygit2.Oid(hex=checkpoint.commit)
    run.commit = cid
    checker = CommitChecker(repo, run.trust, run.destinations)
    if repo.get(cid) is None:
        raise Bad(f"the checkpoint commit {cid} is not in this repository (a checkpoint "
                  "from another ledger, or the history it vouched for was rewritten)")
    _holds(checker, checker.commit(cid), checkpoint)
    new: list[pygit2.Commit] = []
    at = tip
    while at != cid:
        commit = commit_at(repo, at)
        new.append(commit)
        if not commit.parent_ids:
            if repo.descendant_of(cid, tip):
                raise Bad(f"the ledger tip {tip} is behind the checkpoint (entry "
                          f"#{checkpoint.seq}, commit {cid}): rolled back")
            raise Bad(f"the checkpoint commit {cid} (entry #{checkpoint.seq}) is not on the "
                      "ledger's history: it was rewritten, forked or rolled back, or the "
                      "checkpoint is from another ledger")
        at = commit.parent_ids[0]
    new.reverse()
    for i, c in enumerate(new):
        if len(c.parent_ids) > 1:
            run.seq, run.commit = checkpoint.seq + i + 1, c.id
            raise Bad(f"commit {c.id} is a merge (the ledger is linear)")
    return [c.id for c in new]


def _holds(checker: CommitChecker, commit: pygit2.Commit, checkpoint: Checkpoint) -> None:
    """The checkpoint commit holds entry `seq` with the checkpoint's digest as its newest
    entry (entry 0: the root README whose digest starts the chain)."""
    tree = commit.tree
    if checkpoint.seq == 0:
        if commit.parent_ids or genesis_prev(checker.blob(tree, ROOT_README)) \
                != checkpoint.digest:
            raise Bad("the checkpoint commit is not this ledger's root (another ledger)")
        return
    digest = None
    for epath in entry_paths(checkpoint.seq):
        try:
            entry, digest = parse_entry(checker.blob(tree, epath), epath)
        except Bad:
            continue
        if epath != entry_path(checkpoint.seq, str(entry.get("kfm_ledger_entry_version"))):
            digest = None  # an entry of another layout in this place is not entry `seq`
        break
    if digest is None:
        raise Bad(f"the checkpoint commit holds no valid entry #{checkpoint.seq} "
                  "(seq and commit do not belong together)")
    if digest != checkpoint.digest:
        raise Bad(f"entry #{checkpoint.seq} in the checkpoint commit differs from the "
                  "checkpoint's digest")
    for epath in entry_paths(checkpoint.seq + 1):
        try:
            tree[epath]
        except KeyError:
            continue
        raise Bad(f"the checkpoint commit is not the commit of entry #{checkpoint.seq}")


def _verify_new(run: Run, state: Sequence, checkpoint: Checkpoint, new: list[pygit2.Oid],
                tip: pygit2.Oid) -> VerifyResult:
    first = checkpoint.seq + 1
    parents = [pygit2.Oid(hex=checkpoint.commit or ""), *new][:len(new)]
    work = [(first + i, str(c), str(p))
            for i, (c, p) in enumerate(zip(new, parents, strict=True))]
    try:
        run.walk(work, state, None)
        if run.tags:
            run.seq, run.commit = checkpoint.seq + len(new), tip
            prefix_tags(run, state, {w[1] for w in work}, run.refs or {})
    except Bad as e:
        return run.fail(state, str(e), "since")
    return run.done(state, tip, checkpoint.seq + len(new), "since")


def prefix_tags(run: Run, state: Sequence, new_commits: set[str], refs: dict[str, str]
                ) -> None:
    """Tags of promotions before the checkpoint: unchanged tag objects were verified
    then (their id binds their bytes); a moved, missing or re-made one is checked now.
    And, as in a full verify, every kfm/ tag must name a promotion (one pass over the
    refs for both)."""
    if refs == {f"{TAG_PREFIX}{slug}/{version}": row[2]
                for (slug, version), row in state.promoted.items()}:
        return  # each promotion's tag is the object verified then, and there is no other
    names = promotion_tags(refs, state)
    checker: CommitChecker | None = None
    for name, (slug, version) in names.items():
        commit, manifest, tag = state.promoted[(slug, version)]
        if commit in new_commits or (tag and refs.get(name) == tag):
            continue
        if checker is None:
            checker = CommitChecker(run.repo, run.trust, run.destinations, True)
            checker.preset_tags(refs)
        state.promoted[(slug, version)] = (commit, manifest, checker.tag(
            slug, version, pygit2.Oid(hex=commit)))
