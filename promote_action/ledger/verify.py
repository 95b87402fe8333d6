"""Offline verification of a whole ledger branch, oldest commit first.

Checked for every commit: linear history (no merges), an SSH signature by a key the
trust root allows at the commit's time, exactly one new entry whose seq/prev continue the
chain, the commit changes exactly the files the entry lists (nothing else, nothing
deleted, only allow-listed destinations), each with the digest the entry records; for a
promotion, the manifest, its DSSE envelope (same signer) and in-toto subjects agree, the
version and the manifest are new, and no later commit touches a promoted version's files.
Everything runs in-process (pygit2 + our sshsig), so 10,000 entries verify in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pygit2

from promote_action.ledger.append import PROMOTION_FILES, sha
from promote_action.ledger.entry import (
    ENTRY_TYPES,
    ENTRY_VERSION,
    ROOT_README,
    entry_digest,
    entry_path,
    genesis_prev,
    render_json,
    version_dir,
)
from promote_action.ledger.policy_paths import allowed_for


class Bad(Exception):
    """First failure found; carries the seq and commit for the report."""


@dataclass
class VerifyResult:
    ok: bool
    seq: int = 0
    head_digest: str | None = None
    head_commit: str | None = None
    entries: int = 0
    failure: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def checkpoint(self) -> str | None:
        return f"{self.seq}:{self.head_digest}" if self.head_digest else None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoint": self.checkpoint,
                "head_commit": self.head_commit, "counts": self.counts,
                "failure": self.failure}


def parse_checkpoint(text: str) -> tuple[int, str]:
    from promote_action.errors import UsageError

    seq, _, digest = text.partition(":")
    if not seq.isdigit() or not digest.startswith("sha256:") or len(digest) != 71:
        raise UsageError("--checkpoint must be SEQ:sha256:<64 hex> (as printed by verify)")
    return int(seq), digest


def linear_history(repo: pygit2.Repository, tip: pygit2.Oid) -> list[pygit2.Commit]:
    chain = []
    commit = repo[tip].peel(pygit2.Commit)
    while True:
        chain.append(commit)
        ids = commit.parent_ids
        if len(ids) > 1:
            raise Bad(f"commit {commit.id} is a merge (the ledger is linear)")
        if not ids:
            break
        commit = repo[ids[0]]
    chain.reverse()
    return chain


class Verifier:
    def __init__(self, repo: pygit2.Repository, trust: Any, destinations: list[str]):
        self.repo = repo
        self.trust = trust
        self.destinations = destinations
        self.prev: str = ""
        self.immutable: set[str] = set()
        self.manifests: set[str] = set()
        self.promoted: set[tuple[str, str]] = set()
        self.counts: dict[str, int] = {t: 0 for t in ENTRY_TYPES}

    def signer(self, commit: pygit2.Commit) -> str:
        from promote_action.signing.commit import commit_signature
        from promote_action.signing.sshsig import sshsig_verify

        found = commit_signature(self.repo, commit.id)
        if found is None:
            raise Bad("commit is not signed")
        try:
            public = sshsig_verify(found[0], found[1], "git")
        except Exception as e:  # noqa: BLE001 - any parse/verify failure is a bad signature
            raise Bad(f"bad commit signature: {e}") from None
        at = datetime.fromtimestamp(commit.committer.time, tz=UTC)
        ok, why = self.trust.is_trusted(public, at)
        if not ok:
            raise Bad(f"commit signer is not trusted at {at.isoformat()}: {why}")
        return public  # type: ignore[no-any-return]

    def blob(self, tree: pygit2.Tree, path: str) -> bytes:
        try:
            obj = tree[path]
        except KeyError:
            raise Bad(f"{path} is missing") from None
        if obj.type != pygit2.enums.ObjectType.BLOB or obj.filemode != pygit2.enums.FileMode.BLOB:
            raise Bad(f"{path} is not a regular file")
        return self.repo[obj.id].data  # type: ignore[no-any-return]

    def root(self, commit: pygit2.Commit) -> None:
        self.signer(commit)
        names = [e.name for e in commit.tree]
        if names != [ROOT_README]:
            raise Bad(f"root commit must hold only {ROOT_README}, found {names}")
        self.prev = genesis_prev(self.blob(commit.tree, ROOT_README))

    def step(self, seq: int, commit: pygit2.Commit, parent: pygit2.Commit) -> dict[str, Any]:
        from promote_action.signing.keys import public_key_fingerprint

        public = self.signer(commit)
        epath = entry_path(seq)
        raw = self.blob(commit.tree, epath)
        try:
            entry = json.loads(raw)
        except ValueError:
            raise Bad(f"{epath} is not JSON") from None
        if not isinstance(entry, dict) or render_json(entry) != raw:
            raise Bad(f"{epath} is not in the ledger's canonical form (edited?)")
        self.check_entry_fields(entry, seq, public_key_fingerprint(public))
        files = entry["files"]
        changed = self.changed(parent, commit)
        if changed != set(files) | {epath}:
            extra = sorted(changed - set(files) - {epath})
            missing = sorted(set(files) - changed)
            raise Bad(f"commit changes files its entry does not list ({extra[:3]}) "
                      f"or lists unchanged files ({missing[:3]})")
        slug, version = entry["dataset_slug"], entry["dataset_version_id"]
        for path, digest in files.items():
            if not allowed_for(path, self.destinations, slug, version):
                raise Bad(f"{path} is outside the allowed destinations")
            if path in self.immutable:
                raise Bad(f"{path} belongs to an already promoted version (immutable)")
            if sha(self.blob(commit.tree, path)) != digest:
                raise Bad(f"{path} does not match the digest its entry records")
        if entry["type"] == "promotion":
            self.promotion(entry, commit.tree, public)
        self.prev = entry_digest(entry)
        self.counts[entry["type"]] += 1
        return entry

    def check_entry_fields(self, entry: dict[str, Any], seq: int, fingerprint: str) -> None:
        if entry.get("kfm_ledger_entry_version") != ENTRY_VERSION:
            raise Bad("entry has an unknown kfm_ledger_entry_version")
        if entry.get("seq") != seq:
            raise Bad(f"entry seq is {entry.get('seq')!r}, expected {seq} (gap or reorder)")
        if entry.get("prev") != self.prev:
            raise Bad("entry prev does not match the previous entry's digest (chain broken)")
        if entry.get("type") not in ENTRY_TYPES:
            raise Bad(f"entry type {entry.get('type')!r} is unknown")
        if entry.get("signer") != fingerprint:
            raise Bad("entry names a signer other than the key that signed the commit")
        if not isinstance(entry.get("files"), dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in entry["files"].items()):
            raise Bad("entry files must map paths to digests")
        for k in ("dataset_slug", "dataset_version_id"):
            if not isinstance(entry.get(k), str) or "/" in entry[k] or entry[k] in ("", ".", ".."):
                raise Bad(f"entry {k} is malformed")

    def changed(self, parent: pygit2.Commit, commit: pygit2.Commit) -> set[str]:
        out = set()
        diff = parent.tree.diff_to_tree(commit.tree, pygit2.enums.DiffOption.SKIP_BINARY_CHECK)
        for delta in diff.deltas:
            if delta.status_char() not in ("A", "M"):
                raise Bad(f"commit deletes or renames {delta.old_file.path}")
            out.add(delta.new_file.path)
        return out

    def promotion(self, entry: dict[str, Any], tree: pygit2.Tree, public: str) -> None:
        from promote_action.signing.dsse import PAYLOAD_TYPE_INTOTO, verify_envelope

        slug, version = entry["dataset_slug"], entry["dataset_version_id"]
        vdir = version_dir(slug, version)
        if (slug, version) in self.promoted:
            raise Bad(f"version {version} of {slug} is promoted twice")
        digest = entry.get("manifest_digest")
        if digest in self.manifests:
            raise Bad("manifest already recorded by an earlier entry (replay)")
        raw = self.blob(tree, f"{vdir}/manifest.json")
        if sha(raw) != digest:
            raise Bad("stored manifest does not match the entry's manifest_digest")
        manifest = json.loads(raw)
        try:
            env = json.loads(self.blob(tree, f"{vdir}/manifest.dsse.json"))
            statement = json.loads(verify_envelope(env, [public],
                                                   payload_type=PAYLOAD_TYPE_INTOTO))
        except Bad:
            raise
        except Exception as e:  # noqa: BLE001 - any envelope failure is a finding
            raise Bad(f"manifest DSSE envelope does not verify: {e}") from None
        if statement.get("predicate") != manifest:
            raise Bad("DSSE statement predicate differs from the stored manifest")
        subjects = {s["name"]: "sha256:" + s["digest"]["sha256"]
                    for s in statement.get("subject", [])}
        if subjects != {a["path"]: a["digest"] for a in manifest.get("artifacts", [])}:
            raise Bad("DSSE subjects differ from the manifest's artifacts")
        for c in manifest.get("catalogs", []):
            if sha(self.blob(tree, f"{vdir}/catalogs/{c['path']}")) != c["digest"]:
                raise Bad(f"catalog copy {c['path']} does not match the manifest digest")
        self.promoted.add((slug, version))
        self.manifests.add(digest)
        self.immutable.update(f"{vdir}/{n}" for n in PROMOTION_FILES)
        self.immutable.update(p for p in entry["files"] if p.startswith(f"{vdir}/catalogs/"))


def verify_ledger(repo: pygit2.Repository, tip: pygit2.Oid, trust: Any, destinations: list[str],
                  checkpoint: tuple[int, str] | None = None) -> VerifyResult:
    v = Verifier(repo, trust, destinations)
    seq = 0
    commit: pygit2.Commit | None = None
    try:
        chain = linear_history(repo, tip)
        commit = chain[0]
        v.root(commit)
        if checkpoint and checkpoint[0] == 0 and checkpoint[1] != v.prev:
            raise Bad("ledger root differs from the checkpoint (fork)")
        for seq, (parent, commit) in enumerate(pairwise(chain), start=1):
            v.step(seq, commit, parent)
            if checkpoint and checkpoint[0] == seq and checkpoint[1] != v.prev:
                raise Bad("entry at the checkpoint differs (history was rewritten or forked)")
        if checkpoint and checkpoint[0] > len(chain) - 1:
            seq = len(chain) - 1
            raise Bad(f"ledger has {seq} entries but the checkpoint is at {checkpoint[0]} "
                      "(rolled back)")
    except Bad as e:
        return VerifyResult(False, seq, None, None, max(seq - 1, 0), {
            "seq": seq, "commit": str(commit.id) if commit is not None else None,
            "why": str(e)}, v.counts)
    return VerifyResult(True, len(chain) - 1, v.prev, str(tip), len(chain) - 1, None, v.counts)
