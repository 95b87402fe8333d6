"""The append loop: fetch tip → plan → build signed commit → compare-and-swap → retry.

Everything before `land` only writes content-addressed objects (harmless garbage if we
are killed or lose the race); `land` moves the branch and the tag in one atomic step. So
a crash at any point leaves the ledger either without the entry or with all of it, and a
re-run either appends it or finds it ("already recorded").
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from promote_action.errors import LedgerContentionError, LedgerError
from promote_action.ledger.append import (
    Event,
    Planned,
    build_commit,
    create_root,
    describe_plan,
    plan,
)
from promote_action.ledger.entry import tag_name
from promote_action.ledger.policy_paths import load_destinations, require_allowed
from promote_action.ledger.push import LocalTarget, RemoteTarget, TagUpdate, git
from promote_action.ledger.store import LedgerView, branch_ref, open_repo, scratch_repo
from promote_action.ledger.trustroot import TrustSource, require_trusted_signer
from promote_action.signing.trust import TrustRoot

DEFAULT_BRANCH = "kfm-ledger"
MAX_ATTEMPTS = 12


@dataclass
class LedgerTarget:
    repo_dir: Path
    branch: str = DEFAULT_BRANCH
    remote: str | None = None
    max_attempts: int = MAX_ATTEMPTS
    destinations: list[str] | None = None  # allow-list; default: the built-in policy's
    trust: TrustSource = field(default_factory=TrustSource)
    _trust_root: tuple[TrustRoot, str] | None = field(default=None, repr=False,
                                                      compare=False)

    def require_signer(self, key: Any, at: str) -> None:
        """Refuse, before anything is written, a key `verify` would reject at `at`."""
        if self._trust_root is None:
            self._trust_root = self.trust.load(open_repo(self.repo_dir), self.remote)
        trust, where = self._trust_root
        require_trusted_signer(trust, where, key, at)

    def allow_list(self) -> list[str]:
        if self.destinations is None:
            self.destinations = load_destinations()
        return self.destinations

    def check_paths(self, planned: Planned, ev: Event, tagged: bool) -> None:
        """Every path on the allow-list, except the event's own policy bundle in the
        ledger's shared store (`policy/<digest hex>/`, see `policy_store.py`)."""
        from promote_action.ledger.policy_store import shared_index

        own = shared_index(planned.entry or {})
        store = own.rpartition("/")[0] + "/" if own else None
        paths = [p for p in planned.files if store is None or not p.startswith(store)]
        if tagged:
            paths.append(f"refs/tags/{tag_name(ev.slug, ev.version)}")
        require_allowed(paths, self.allow_list(), ev.slug, ev.version, planned.vdir)

    @property
    def ref(self) -> str:
        return branch_ref(self.branch)

    def target(self) -> LocalTarget | RemoteTarget:
        if self.remote:
            return RemoteTarget(self.repo_dir, self.remote, self.ref)
        return LocalTarget(self.repo_dir, self.ref)

    def local_tip(self) -> str | None:
        """The tip as known locally, without fetching (dry runs must not write)."""
        repo = open_repo(self.repo_dir)
        for ref in ([RemoteTarget(self.repo_dir, self.remote, self.ref).tracking,
                     f"refs/remotes/{self.remote}/{self.branch}"] if self.remote else []) + [
                self.ref]:
            try:
                return str(repo.references[ref].resolve().target)
            except KeyError:
                continue
        return None


@dataclass
class AppendResult:
    status: str  # recorded | already_recorded | conflict | dry_run | staged
    planned: Planned
    commit: str | None = None
    tag: str | None = None
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _backoff(attempt: int, ev: Event) -> float:
    # Jitter only spreads retries in time; it never reaches an output.
    rng = random.Random(hashlib.sha256(f"{ev.key}:{attempt}".encode()).digest())  # noqa: S311
    return min(2.0, 0.02 * (2.0 ** attempt)) * (0.5 + rng.random())


def append_event(lt: LedgerTarget, ev: Event, key: Any) -> AppendResult:
    """Record `ev` on the ledger, retrying lost races; never half-writes."""
    lt.require_signer(key, ev.at)
    target = lt.target()
    repo = open_repo(lt.repo_dir)
    for attempt in range(1, lt.max_attempts + 1):
        tip = target.fetch()
        parent = pygit2.Oid(hex=tip) if tip else create_root(repo, key, ev.at)
        view = LedgerView(repo, parent)
        planned = plan(view, ev, key.fingerprint)
        if planned.status != "append":
            return AppendResult(planned.status, planned, commit=tip, attempts=attempt)
        lt.check_paths(planned, ev, ev.type == "promotion")
        commit, tag = build_commit(repo, key, parent, planned, ev, view.parsed())
        tags = [TagUpdate(f"refs/tags/{tag_name(ev.slug, ev.version)}", str(tag))] if tag else []
        if target.land(tip, str(commit), tags):
            if lt.remote:  # mirror the landed tip locally (best effort, not the truth)
                git(lt.repo_dir, "update-ref", lt.ref, str(commit), check=False)
            return AppendResult("recorded", planned, str(commit), str(tag) if tag else None,
                                attempt)
        time.sleep(_backoff(attempt, ev))
    raise LedgerContentionError(
        f"ledger contention: lost the compare-and-swap on {target.describe()} "
        f"{lt.max_attempts} times; nothing was written, re-run to retry")


def preview_event(lt: LedgerTarget, ev: Event, key: Any | None,
                  staged_patch: Path | None = None) -> AppendResult:
    """Plan (and with a key, build) the commit in a scratch repo: the real repo gains no
    object and no ref. With `staged_patch`, write a git bundle of the would-be commit."""
    if key is not None:
        lt.require_signer(key, ev.at)
    repo = open_repo(lt.repo_dir)
    tip = lt.local_tip()
    with scratch_repo(repo) as scratch:
        signer = key.fingerprint if key is not None else None
        if tip:
            parent = pygit2.Oid(hex=tip)
        elif key is not None:
            parent = create_root(scratch, key, ev.at)
        else:
            parent = None
        view = LedgerView(scratch, parent)
        planned = (plan(view, ev, signer or "(unsigned preview)") if parent is not None
                   else _plan_without_root(scratch, ev))
        result = AppendResult("dry_run" if staged_patch is None else "staged", planned)
        if planned.status == "append":
            lt.check_paths(planned, ev, ev.type == "promotion")
        if planned.status != "append" or key is None or parent is None:
            if planned.status != "append":
                result.status = planned.status
            return result
        commit, tag = build_commit(scratch, key, parent, planned, ev, view.parsed())
        result.commit, result.tag = str(commit), (str(tag) if tag else None)
        if staged_patch is not None:
            _write_bundle(Path(scratch.path), lt, commit, tag, ev, tip, staged_patch)
        return result


def _plan_without_root(scratch: pygit2.Repository, ev: Event) -> Planned:
    """Preview on a repo with no ledger yet and no key: plan on an in-scratch root tree."""
    from promote_action.ledger.append import root_readme
    from promote_action.ledger.entry import ROOT_README
    from promote_action.ledger.store import update_tree

    tree = update_tree(scratch, None, {ROOT_README: scratch.create_blob(root_readme())})
    who = pygit2.Signature("preview", "preview@invalid", 0, 0)
    root = scratch.create_commit(None, who, who, "preview", tree, [])
    return plan(LedgerView(scratch, root), ev, "(unsigned preview)")


def _write_bundle(scratch_dir: Path, lt: LedgerTarget, commit: pygit2.Oid,
                  tag: pygit2.Oid | None, ev: Event, tip: str | None, out: Path) -> None:
    git(scratch_dir, "update-ref", lt.ref, str(commit))
    refs = [lt.ref]
    if tag is not None:
        name = f"refs/tags/{tag_name(ev.slug, ev.version)}"
        git(scratch_dir, "update-ref", name, str(tag))
        refs.append(name)
    excl = [f"^{tip}"] if tip else []
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    git(scratch_dir, "bundle", "create", "--quiet", str(tmp), *refs, *excl)
    tmp.replace(out)


def describe(result: AppendResult) -> dict[str, Any]:
    out = {"status": result.status, "commit": result.commit, "tag": result.tag,
           **describe_plan(result.planned)}
    if result.planned.message:
        out["message"] = result.planned.message
    return out


def require_ledger(lt: LedgerTarget) -> str:
    tip = lt.local_tip()
    if tip is None:
        raise LedgerError(f"no ledger branch {lt.branch!r} (run `kfm-promote ledger init`)",
                          file=str(lt.repo_dir))
    return tip
