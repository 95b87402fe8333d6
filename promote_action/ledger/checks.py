"""Per-commit ledger checks: everything about one commit that needs only it and its parent.

Split from the chain walk (`verify.py`) so the expensive, independent part — signature,
entry bytes, file digests, tree shape, DSSE, tag — can run in worker processes over
chunks of history, while the cheap sequential facts (seq/prev chain, immutability,
replays, policy rollbacks) are checked in order by the caller.

Speed without losing rigour: the commit must change exactly the files its entry lists.
Instead of diffing two whole trees (libgit2 walks every differing level, and a v1/v2
entry shard holds 1,000 names), we build the tree objects we *expect* — the parent's
trees with the listed paths set to the blobs the commit holds — in memory (`treecheck.py`) and
compare them byte for byte with the commit's. Equal bytes mean nothing else was added,
changed or deleted; only on a mismatch do we pay for a diff, to say what differs. File
digests are cached by blob id, so a blob stored unchanged in many commits is hashed once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pygit2

from promote_action.ledger.entry import (
    entry_path,
    entry_paths,
    fanned_version_dir,
    locate_version,
    pointer_path,
)
from promote_action.ledger.entry_checks import (
    Bad,
    DestinationChecker,
    check_entry_fields,
    commit_at,
    explain_tree_difference,
    own_records,
    parse_entry,
)
from promote_action.ledger.policy_store import SHARED, check_decision_files, shared_index
from promote_action.ledger.tag_checks import check_tag, tag_refs
from promote_action.ledger.treecheck import (
    Malformed,
    TreeCheck,
    WholeTree,
    WholeTreeConflict,
    git_id,
)

__all__ = ["Bad", "CommitChecker", "Facts", "commit_at", "parse_entry", "tag_refs"]

BLOB_MODE = pygit2.enums.FileMode.BLOB
TREE_MODE = pygit2.enums.FileMode.TREE
BLOB_TYPE = pygit2.enums.ObjectType.BLOB
COMMIT_TYPE = pygit2.enums.ObjectType.COMMIT


@dataclass
class Facts:
    """What the sequential pass needs from one verified commit."""

    seq: int
    commit: str
    prev: str
    digest: str
    type: str
    slug: str
    version: str
    paths: list[str]
    manifest_digest: str | None = None
    policy_digest: str | None = None
    replay: dict[str, Any] | None = None  # filled when replay was requested
    extra: dict[str, Any] = field(default_factory=dict)


# Digests kept across commits: a file repeated by later commits (a v1 record's policy
# bundle copy) is hashed once. Bounded: an ever-growing map of every file of 100,000
# commits made each later check about a quarter slower.
DIGESTS_KEEP = 4096


class CommitChecker:
    """Checks commits of one repository against one trust root (reusable per process)."""

    def __init__(self, repo: pygit2.Repository, trust: Any, destinations: list[str],
                 check_tags: bool = False):
        self.repo = repo
        self.trees = TreeCheck(repo)
        self.trust = trust
        self.destinations = destinations
        self.check_tags = check_tags
        self._digests: dict[pygit2.Oid, str] = {}
        self._fingerprints: dict[str, str] = {}
        self._trusted: dict[tuple[str, int], str] = {}
        self._tags: dict[str, str] | None = None
        self._recent: dict[pygit2.Oid, bytes] = {}
        self._tree: pygit2.Tree | None = None  # the commit being checked, and its folders
        self._dirs: dict[str, pygit2.Tree] = {}
        self.policy_cache: dict[tuple[pygit2.Oid, pygit2.Oid], dict[str, pygit2.Oid]] = {}
        self.index_cache: dict[pygit2.Oid, tuple[dict[str, str], Any, str]] = {}

    # -- signatures ---------------------------------------------------------------------
    def signer(self, commit: pygit2.Commit) -> str:
        from promote_action.signing.sshsig import sshsig_verify

        sig, payload = commit.gpg_signature
        if sig is None or payload is None:
            raise Bad("commit is not signed")
        try:
            public = sshsig_verify(sig.decode("ascii"), payload, "git")
        except Exception as e:  # noqa: BLE001 - any parse/verify failure is a bad signature
            raise Bad(f"bad commit signature: {e}") from None
        return self.trusted(public, commit.committer.time, "commit")

    def trusted(self, public: str, when: int, what: str) -> str:
        key = (public, when)
        if key not in self._trusted:
            ok, why = self.trust.is_trusted_at_commit_time(public, when)
            if not ok:
                at = datetime.fromtimestamp(when, tz=UTC)
                raise Bad(f"{what} signer is not trusted at {at.isoformat()}: {why}")
            self._trusted[key] = public
        return public

    def fingerprint(self, public: str) -> str:
        if public not in self._fingerprints:
            from promote_action.signing.keys import public_key_fingerprint

            self._fingerprints[public] = public_key_fingerprint(public)
        return self._fingerprints[public]

    # -- blobs --------------------------------------------------------------------------
    def entry_at(self, tree: pygit2.Tree, path: str) -> pygit2.Object:
        """The regular file at `path`. In the commit being checked, each directory is
        looked up once, from its parent directory (a version's files share one, and the
        dataset's folder above it, 1,000 versions at 1,000 promotions, is read once per
        commit instead of once per directory below it)."""
        folder, _, name = path.rpartition("/")
        try:
            if folder and tree is self._tree:
                obj = self._folder(folder)[name]
            else:
                obj = tree[path]
        except KeyError:
            raise Bad(f"{path} is missing") from None
        if obj.filemode != BLOB_MODE:  # only blobs have this mode; `read` checks the type
            raise Bad(f"{path} is not a regular file")
        return obj

    def _folder(self, path: str) -> pygit2.Tree:
        """Directory `path` of the commit being checked (KeyError: there is none)."""
        sub = self._dirs.get(path)
        if sub is None:
            head, _, name = path.rpartition("/")
            assert self._tree is not None
            found = (self._folder(head) if head else self._tree)[name]
            if not isinstance(found, pygit2.Tree):  # a Tree object, loaded on first use
                raise KeyError(path)
            sub = self._dirs[path] = found
        return sub

    def entry_oid(self, tree: pygit2.Tree, parent: pygit2.Tree, seq: int
                  ) -> tuple[str, pygit2.Oid]:
        """(path, blob id) of the commit's entry file, at its v3 place or else its v1/v2
        one (the caller checks the entry's layout names that place). On the common path
        it is read from the end of its shard, which must be the parent's shard with this
        one name appended (`TreeCheck.appended_file`); otherwise looked up like any other
        file."""
        for epath in entry_paths(seq):
            shard, _, name = epath.rpartition("/")
            try:
                new = tree[shard]
            except KeyError:
                continue
            if not isinstance(new, pygit2.Tree) or name not in new:
                continue
            try:
                old = parent[shard]
            except KeyError:
                pass
            else:
                if old.filemode == TREE_MODE:
                    found = self.trees.appended_file(old.id.raw, new.id.raw, name.encode())
                    if found is not None:
                        return epath, pygit2.Oid(raw=found)
            return epath, self.entry_at(tree, epath).id
        raise Bad(f"{entry_paths(seq)[0]} is missing (nor at {entry_paths(seq)[1]})")

    def blob(self, tree: pygit2.Tree, path: str) -> bytes:
        """A file no entry records a digest for, so its bytes are checked by blob id."""
        return self.raw(self.entry_at(tree, path).id, BLOB_TYPE, b"blob")

    def digest(self, oid: pygit2.Oid) -> str:
        found = self._digests.get(oid)
        if found is None:
            data = self.read(oid)
            found = "sha256:" + hashlib.sha256(data).hexdigest()
            self._digests[oid] = found
        return found

    def read(self, oid: pygit2.Oid) -> bytes:
        """Bytes of a blob whose SHA-256 the entry records: callers compare `digest(oid)`
        with that record before they trust the bytes, which binds them more strongly than
        the blob id would (see `verify.own_object_checks`). The current commit's reads are
        kept so hashing a file and then parsing it costs one read."""
        data = self._recent.get(oid)
        if data is None:
            found, data = self.repo.odb.read(oid)
            if found != BLOB_TYPE:
                raise Bad(f"object {oid} is not a blob")
            self._recent[oid] = data
        return data  # type: ignore[no-any-return]

    def raw(self, oid: pygit2.Oid, kind: Any, name: bytes) -> bytes:
        """An object's bytes, only if it has that type and the bytes hash to its id."""
        found, data = self.repo.odb.read(oid)
        if found != kind or git_id(name, data) != oid.raw:
            raise Bad(f"object {oid} is not a {name.decode()} whose bytes hash to its id "
                      "(corrupt or substituted object)")
        return data  # type: ignore[no-any-return]

    def commit(self, oid: pygit2.Oid) -> pygit2.Commit:
        """The commit, its bytes checked against its id first: the signature covers the
        content, the id check binds that content to the parent link that names it."""
        self.raw(oid, COMMIT_TYPE, b"commit")
        return commit_at(self.repo, oid)

    # -- one commit ---------------------------------------------------------------------
    def check(self, seq: int, commit_id: pygit2.Oid, parent_id: pygit2.Oid) -> Facts:
        self._recent = {}
        if len(self._digests) > DIGESTS_KEEP:
            self._digests = {}
        commit = self.commit(commit_id)
        public = self.signer(commit)
        tree = self._tree = commit.tree
        self._dirs = {}
        parent = commit_at(self.repo, parent_id)
        epath, eoid = self.entry_oid(tree, parent.tree, seq)
        entry, digest = parse_entry(self.raw(eoid, BLOB_TYPE, b"blob"), epath)
        check_entry_fields(entry, seq, self.fingerprint(public))
        layout = entry["kfm_ledger_entry_version"]
        if epath != entry_path(seq, layout):
            raise Bad(f"{epath} holds a {layout} entry, which belongs at "
                      f"{entry_path(seq, layout)}")
        files: dict[str, str] = entry["files"]
        slug, version = entry["dataset_slug"], entry["dataset_version_id"]
        vdir, events_before = self.version_folder(entry, parent.tree_id)
        allowed = DestinationChecker(self.destinations, slug, version, vdir)
        oids = {}
        own = own_records(entry, vdir)
        shared = shared_index(entry)
        for path, want in files.items():
            if (not allowed(path) and path != shared) or path.startswith("entries/"):
                raise Bad(f"{path} is outside the allowed destinations (or another entry)")
            if path.startswith(own[0]) and not path.startswith(own[1]):
                raise Bad(f"{path}: a denied attempt's records belong under {own[1]}")
            obj = self.entry_at(tree, path)
            if self.digest(obj.id) != want:
                raise Bad(f"{path} does not match the digest its entry records")
            oids[path] = obj.id
        writes = {**oids, epath: eoid}
        indexed: dict[str, pygit2.Oid] = {}
        whole: dict[str, WholeTree] = {}
        if entry["type"] in ("promotion", "denied"):
            indexed, whole = check_decision_files(self, entry, tree, oids, parent.tree, vdir)
            if not all(allowed.folder_allowed(folder) or folder.startswith(f"{SHARED}/")
                       for folder in whole):
                for path in indexed:
                    if not allowed(path):
                        raise Bad(f"{path} is outside the allowed destinations")
        self.same_tree(commit, parent, writes, whole, indexed)
        facts = Facts(seq, str(commit_id), entry["prev"], digest, entry["type"], slug, version,
                      sorted([*writes, *indexed]), entry.get("manifest_digest"),
                      entry.get("policy_bundle_digest"))
        facts.extra["events_error"] = self.events(entry, oids, events_before, vdir)
        if entry["type"] == "promotion":
            self.promotion(entry, tree, public, oids, vdir)
            if self.check_tags:  # reported after the chain checks of this entry
                try:
                    facts.extra["tag"] = self.tag(slug, version, commit_id)
                except Bad as e:
                    facts.extra["tag_error"] = str(e)
        return facts

    def same_tree(self, commit: pygit2.Commit, parent: pygit2.Commit,
                  writes: dict[str, pygit2.Oid], whole: dict[str, WholeTree] | None = None,
                  files: dict[str, pygit2.Oid] | None = None) -> None:
        """The commit's tree must be exactly the parent's plus the listed writes: the
        `files` of each directory in `whole` are written as that one proven tree."""
        try:
            try:
                ok = self.trees.matches(parent.tree_id, commit.tree_id, writes, whole)
            except WholeTreeConflict:  # the directory exists already: file by file
                ok = self.trees.matches(parent.tree_id, commit.tree_id,
                                        {**writes, **(files or {})})
        except Malformed as e:
            raise Bad(f"commit tree does not match its entry ({e})") from None
        if not ok:
            raise Bad(explain_tree_difference(parent, commit, set(writes), set(whole or ())))

    def version_folder(self, entry: dict[str, Any], parent_tree: pygit2.Oid
                       ) -> tuple[str, pygit2.Oid | None]:
        """(the version's folder, the blob id of its `events.json` in the parent or None
        for a new version), by `entry.locate_version`: a version keeps the folder its
        first event created. An entry of an older layout cannot add to a version a v3
        entry created in its hash folders (two folders for one version). Looked up
        through the exact-tree check's trees before it takes them over for this commit."""
        slug, version = entry["dataset_slug"], entry["dataset_version_id"]
        layout = entry["kfm_ledger_entry_version"]
        found: dict[str, bytes | None] = {}

        def events_at(path: str) -> bytes | None:
            if path not in found:
                try:
                    found[path] = self.trees.find(parent_tree.raw, path)
                except Malformed as e:
                    raise Bad(f"parent tree is malformed ({e})") from None
            return found[path]

        fanned = fanned_version_dir(slug, version)
        try:
            vdir = locate_version(lambda p: events_at(p) is not None, slug, version, layout)
        except ValueError as e:  # a new v3 version whose id has no hash suffix
            raise Bad(f"entry dataset_version_id is malformed ({e})") from None
        if fanned is not None and vdir != fanned and \
                events_at(f"{fanned}/events.json") is not None:
            raise Bad(f"version {version} of {slug} is recorded in {fanned}/; a "
                      f"{layout} entry cannot add to it")
        before = events_at(f"{vdir}/events.json")
        return vdir, pygit2.Oid(raw=before) if before is not None else None

    def events(self, entry: dict[str, Any], oids: dict[str, pygit2.Oid],
               before: pygit2.Oid | None, vdir: str) -> str | None:
        """The version's `events.json` is the parent's list (`before`) plus this entry's
        row (seq, type, key, time), so it is a complete, verified index of the version's
        entries (`ledger log --dataset` and `ledger show` read it). Reported after the
        chain checks of this entry, like a tag error."""
        path = f"{vdir}/events.json"
        if path not in oids:
            return f"entry does not record its version's {path}"
        try:
            rows = json.loads(self.read(oids[path]))
            old = json.loads(self.raw(before, BLOB_TYPE, b"blob")) if before else []
            last = rows[-1]
            ok = (isinstance(rows, list) and rows[:-1] == old and last.get("seq") == entry["seq"]
                  and last.get("type") == entry["type"] and last.get("at") == entry.get("at")
                  and last.get("key") == entry.get("idempotency_key"))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            ok = False
        return None if ok else (f"{path} is not the previous list plus this entry's event")

    def promotion(self, entry: dict[str, Any], tree: pygit2.Tree, public: str,
                  oids: dict[str, pygit2.Oid], vdir: str) -> None:
        from promote_action.signing.dsse import PAYLOAD_TYPE_INTOTO, verify_envelope

        try:
            raw = self.read(oids[f"{vdir}/manifest.json"])
            envelope = self.read(oids[f"{vdir}/manifest.dsse.json"])
        except KeyError as e:
            raise Bad(f"promotion does not list {e.args[0]}") from None
        if "sha256:" + hashlib.sha256(raw).hexdigest() != entry.get("manifest_digest"):
            raise Bad("stored manifest does not match the entry's manifest_digest")
        try:
            manifest = json.loads(raw)
            statement = json.loads(verify_envelope(json.loads(envelope), [public],
                                                   payload_type=PAYLOAD_TYPE_INTOTO))
        except Exception as e:  # noqa: BLE001 - any envelope failure is a finding
            raise Bad(f"manifest DSSE envelope does not verify: {e}") from None
        if statement.get("predicate") != manifest:
            raise Bad("DSSE statement predicate differs from the stored manifest")
        subjects = {s["name"]: "sha256:" + s["digest"]["sha256"]
                    for s in statement.get("subject", [])}
        if subjects != {a["path"]: a["digest"] for a in manifest.get("artifacts", [])}:
            raise Bad("DSSE subjects differ from the manifest's artifacts")
        for c in manifest.get("catalogs", []):
            path = f"{vdir}/catalogs/{c['path']}"
            oid = oids.get(path) or self.entry_at(tree, path).id
            if self.digest(oid) != c["digest"]:
                raise Bad(f"catalog copy {c['path']} does not match the manifest digest")
        if manifest.get("policy", {}).get("decision_id") != entry.get("decision_id"):
            raise Bad("manifest decision_id differs from the entry's")
        from promote_action.ledger.published import published_problem

        pointer = oids.get(pointer_path(entry["dataset_slug"]))
        why = published_problem(manifest, self.read(pointer) if pointer else None)
        if why:
            raise Bad(why)

    def preset_tags(self, refs: dict[str, str]) -> None:
        """The kfm/ tags (name -> object id hex) as read once by `tag_refs`; shared, not
        copied (a ledger of 100,000 promotions has 100,000 of them)."""
        self._tags = refs

    def tag(self, slug: str, version: str, commit_id: pygit2.Oid) -> str:
        """Check the promotion's signed tag; returns the tag object's id."""
        if self._tags is None:
            self.preset_tags(tag_refs(self.repo))
        assert self._tags is not None
        return check_tag(self, self._tags, slug, version, commit_id)
