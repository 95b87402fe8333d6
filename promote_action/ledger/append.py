"""Appending one event to the ledger: plan on a tip, build one signed commit, land it.

`plan` is a pure function of (ledger tip, event): seq and prev are derived from the tip,
so when a compare-and-swap loses the race we simply plan again on the new tip, rebuild
the tree and re-sign. Idempotency is checked on every tip too: an event whose key is
already on the ledger (a re-run, or a concurrent twin that won) writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pygit2

from promote_action.errors import InputError, LedgerError
from promote_action.ledger.entry import (
    ENTRY_VERSION,
    ROOT_README,
    build_entry,
    dataset_readme_path,
    entry_path,
    locate_version,
    pointer_path,
    render_json,
    tag_name,
    version_dir,
)
from promote_action.ledger.readme import render_dataset_readme, update_dataset_readme
from promote_action.ledger.store import LedgerView, update_tree
from promote_action.resources import data_root

IDENT_NAME = "kfm-promote"
IDENT_EMAIL = "kfm-promote@ledger.invalid"
PROMOTION_FILES = ("manifest.json", "manifest.dsse.json", "receipt.json", "report.json",
                   "decision.json")


@dataclass
class Event:
    """One thing to record. `files` are paths relative to the version dir (or `@/...`
    for ledger-root paths) whose bytes do not depend on seq."""

    type: str
    slug: str
    version: str
    at: str
    key: str
    fields: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    publish: dict[str, Any] | None = None
    quarantine: dict[str, Any] | None = None  # set (or None to clear) pointer quarantine
    touch_quarantine: bool = False
    manifest_digest: str | None = None


@dataclass
class Planned:
    status: str  # "append" | "already_recorded" | "conflict"
    entry: dict[str, Any] | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # ledger path -> bytes
    seq: int | None = None
    message: str = ""
    vdir: str | None = None  # the version's folder on the ledger


def root_readme() -> bytes:
    return (data_root("ledger") / "README.md").read_bytes()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def git_time(rfc3339: str) -> tuple[int, int]:
    """(epoch seconds, offset minutes) of an RFC 3339 time; naive times are refused."""
    try:
        dt = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an RFC 3339 time: {rfc3339!r}") from None
    off = dt.utcoffset()
    if off is None:
        raise InputError(f"time {rfc3339!r} has no timezone offset")
    return int(dt.timestamp()), int(off.total_seconds() // 60)


def identity(at: str) -> pygit2.Signature:
    seconds, offset = git_time(at)
    return pygit2.Signature(IDENT_NAME, IDENT_EMAIL, seconds, offset)


def _events(view: LedgerView, vdir: str) -> list[dict[str, Any]]:
    data = view.read_json(f"{vdir}/events.json")
    if data is None:
        return []
    if not isinstance(data, list):
        raise LedgerError("events.json is not a list", file=f"{vdir}/events.json")
    return data


def folder_on(view: LedgerView, slug: str, version: str) -> str:
    """The version's folder for an entry written now (`entry.locate_version`)."""
    try:
        return locate_version(lambda p: view.read(p) is not None, slug, version)
    except ValueError as e:
        raise InputError(str(e), field="dataset_version_id") from None


def plan(view: LedgerView, ev: Event, signer: str) -> Planned:
    """What appending `ev` on this tip would write (or why it must not)."""
    vdir = folder_on(view, ev.slug, ev.version)
    events = _events(view, vdir)
    for old in events:
        if old.get("key") == ev.key:
            return Planned("already_recorded", seq=old.get("seq"),
                           message=f"already recorded as entry #{old.get('seq')}")
    promoted = next((o for o in events if o.get("type") == "promotion"), None)
    if ev.type == "promotion" and promoted is not None:
        if promoted.get("manifest_digest") == ev.manifest_digest:
            return Planned("already_recorded", seq=promoted.get("seq"),
                           message=f"already recorded as entry #{promoted.get('seq')}")
        return Planned("conflict", seq=promoted.get("seq"), message=(
            f"version {ev.version} is already promoted (entry #{promoted.get('seq')}) with "
            f"manifest {promoted.get('manifest_digest')}; versions are immutable"))
    refusal = _quarantine_refusal(events, ev)
    if refusal:
        return Planned("conflict", message=refusal)
    head_seq, prev, _ = view.head_entry()
    seq = head_seq + 1
    files = layout(ev, seq, lambda d: bool(view.list_dir(d)), vdir=vdir)
    events = [*events, {**ev.summary, "seq": seq, "type": ev.type, "key": ev.key, "at": ev.at}]
    files[f"{vdir}/events.json"] = render_json(events)
    pointer = view.read_json(pointer_path(ev.slug))
    if ev.publish is not None:
        pointer = {**ev.publish, "ledger_seq": seq, "quarantine": None}
    elif ev.touch_quarantine and pointer and pointer.get("dataset_version_id") == ev.version:
        pointer = {**pointer, "quarantine": ev.quarantine}
    if pointer is not None and (ev.publish is not None or ev.touch_quarantine):
        files[pointer_path(ev.slug)] = render_json(pointer)
    prefix = f"datasets/{ev.slug}/"
    readme = update_dataset_readme(ev.slug, view.read(dataset_readme_path(ev.slug)),
                                   ev.version, events[-1], pointer,
                                   where=lambda s, v: (entry_path(s), vdir[len(prefix):]))
    if readme is None:  # first event of the dataset (or an unexpected README): render all
        from promote_action.ledger.query import dataset_versions

        folders = {**dataset_versions(view, ev.slug), ev.version: vdir}
        versions = {v: _events(view, f) for v, f in folders.items()}
        versions[ev.version] = events
        readme = render_dataset_readme(
            ev.slug, versions, pointer,
            where=lambda s, v: (entry_path(s) if s == seq else view.read_entry(s)[0],
                                folders[v][len(prefix):]))
    files[dataset_readme_path(ev.slug)] = readme
    entry = build_entry(seq=seq, prev=prev, type_=ev.type, slug=ev.slug, version=ev.version,
                        fields={**ev.fields, "at": ev.at, "signer": signer,
                                "idempotency_key": ev.key},
                        files=listed_files(files))
    files[entry_path(seq)] = render_json(entry)
    return Planned("append", entry=entry, files=files, seq=seq, vdir=vdir)


def layout(ev: Event, seq: int, stored: Callable[[str], bool],
           version: str = ENTRY_VERSION, vdir: str | None = None) -> dict[str, bytes]:
    """Ledger path -> bytes of the event's own files, by entry layout (`version`):
    version files under the version's folder `vdir` (default: where `version` puts a new
    version; a denial's under `denied/<seq>/`), `@/` paths at the ledger's top; from v2
    on the policy bundle goes to the shared `policy/<digest hex>/`, only when
    `stored(that dir)` says it is not there yet."""
    from promote_action.ledger.policy_store import SHARED, shared_dir, v2_location

    vdir = vdir or version_dir(ev.slug, ev.version, version)
    digest = ev.fields.get("policy_bundle_digest")
    shared = version != "v1" and isinstance(digest, str) and any(
        r.startswith(f"{SHARED}/") for r in ev.files)
    skip = shared and stored(shared_dir(str(digest)))
    files: dict[str, bytes] = {}
    for rel, data in ev.files.items():
        if rel.startswith("@/"):
            path = rel[2:]
        elif shared and rel.startswith(f"{SHARED}/"):
            if skip:
                continue
            path = v2_location(rel, str(digest))
        elif ev.type == "denied":
            path = f"{vdir}/denied/{seq:09d}/{rel}"
        else:
            path = f"{vdir}/{rel}"
        files[path] = data
    return files


def listed_files(files: dict[str, bytes]) -> dict[str, str]:
    """The entry's `files`: every path the commit writes except the policy bundle's
    files, which the (listed) `policy/index.json` beside them lists with their digests."""
    from promote_action.ledger.policy_store import is_indexed_file

    return {p: sha(b) for p, b in files.items() if not is_indexed_file(p)}


def _quarantine_refusal(events: list[dict[str, Any]], ev: Event) -> str | None:
    states = [o for o in events if o.get("type") in ("quarantine", "quarantine_release")]
    active = bool(states) and states[-1]["type"] == "quarantine"
    if ev.type == "quarantine" and active:
        return f"{ev.slug} {ev.version} is already quarantined (entry #{states[-1]['seq']})"
    if ev.type == "quarantine_release" and not active:
        return f"{ev.slug} {ev.version} is not under quarantine; nothing to release"
    return None


def commit_message(entry: dict[str, Any]) -> str:
    return (f"kfm-ledger: #{entry['seq']} {entry['type']} {entry['dataset_slug']} "
            f"{entry['dataset_version_id']}\n\n"
            f"Kfm-Entry: {entry_path(entry['seq'], entry['kfm_ledger_entry_version'])}\n")


def create_root(repo: pygit2.Repository, key: Any, at: str) -> pygit2.Oid:
    """The root commit: only the auditor README (the chain's genesis is its digest)."""
    from promote_action.signing.commit import create_signed_commit

    tree = update_tree(repo, None, {ROOT_README: repo.create_blob(root_readme())})
    who = identity(at)
    return create_signed_commit(repo, key, tree=tree, parents=[],
                                message="kfm-ledger: init\n", author=who, committer=who)


def build_commit(repo: pygit2.Repository, key: Any, parent: pygit2.Oid, planned: Planned,
                 ev: Event, known: dict[pygit2.Oid, pygit2.Tree] | None = None
                 ) -> tuple[pygit2.Oid, pygit2.Oid | None]:
    """Write blobs, trees, the signed commit and (for a promotion) the signed tag.
    `known`: the parent's folders the plan already read (`LedgerView.parsed`)."""
    from promote_action.signing.commit import create_signed_commit, create_signed_tag

    assert planned.entry is not None
    base = repo[parent].peel(pygit2.Tree)
    writes = {p: repo.create_blob(b) for p, b in planned.files.items()}
    tree = update_tree(repo, base, writes, known)
    who = identity(ev.at)
    commit = create_signed_commit(repo, key, tree=tree, parents=[parent],
                                  message=commit_message(planned.entry), author=who,
                                  committer=who)
    tag = None
    if ev.type == "promotion":
        tag = create_signed_tag(repo, key, name=tag_name(ev.slug, ev.version), target=commit,
                                message=(f"kfm-promote: {ev.slug} {ev.version}\n\n"
                                         f"Manifest: {ev.manifest_digest}\n"
                                         f"Entry: #{planned.entry['seq']}\n"),
                                tagger=who)
    return commit, tag


def describe_plan(planned: Planned) -> dict[str, Any]:
    return {"seq": planned.seq, "entry": planned.entry,
            "files": {p: sha(b) for p, b in sorted(planned.files.items())}}


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
