"""The evidence a decision can be replayed from: the capsule and the exact policy bundle.

Each promotion (and each denied attempt) stores, beside its `decision.json`, the
`capsule.json` it judged (the policy input, whose canonical digest is the record's
input_digest) and refers to the exact policy bundle by `policy_bundle_digest`:
- `index.json` — the bundle digest and every file's digest by display path;
- `files/<root label>/<path>` — the bytes of every file the digest covers.

Where the bundle lives depends on the entry's layout (`kfm_ledger_entry_version`):
- v1: under the record, `<record>/policy/index.json` and `<record>/policy/files/…`,
  written again by every record (one more tree per record, 15 tree entries);
- v2: once per bundle digest, `policy/<digest hex>/index.json` and
  `policy/<digest hex>/files/…` at the top of the ledger, written by the first record
  that used the bundle and only referenced by later ones (constant cost per entry).

So an auditor can rebuild the very bundle the decision was made with, from the ledger
alone, years later, and re-run it (`kfm-promote verify --replay`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2

from promote_action.errors import LedgerError
from promote_action.ledger.entry import legacy_version_dir, render_json

INDEX = "policy/index.json"  # v1: relative to the record's directory
FILES_DIR = "policy/files"
INDEX_VERSION = "v1"
SHARED = "policy"  # v2: policy/<digest hex>/{index.json,files/…} at the ledger's top


@dataclass(frozen=True)
class BundlePaths:
    """Ledger paths of one stored bundle: its index file and its files' folder."""

    index: str
    files: str

    def file(self, display: str) -> str:
        return f"{self.files}/{stored_path(display)[len(FILES_DIR) + 1:]}"


def shared_dir(digest: str) -> str:
    """`policy/<hex>` for a `sha256:<hex>` bundle digest (v2 layout)."""
    hexpart = digest[7:] if digest.startswith("sha256:") else ""
    if len(hexpart) != 64 or not set(hexpart) <= set("0123456789abcdef"):
        raise LedgerError(f"policy bundle digest {digest[:80]!r} is not sha256:<64 hex>")
    return f"{SHARED}/{hexpart}"


def bundle_paths(entry: dict[str, Any]) -> BundlePaths:
    """Where the bundle of a promotion's or denial's record is stored, by its layout."""
    if entry.get("kfm_ledger_entry_version") == "v1":
        base = record_dir(entry)
        return BundlePaths(f"{base}/{INDEX}", f"{base}/{FILES_DIR}")
    shared = shared_dir(str(entry.get("policy_bundle_digest")))
    return BundlePaths(f"{shared}/index.json", f"{shared}/files")


def record_bundle_paths(read: Any, base: str) -> BundlePaths:
    """The bundle of the record under `base`, found from the record itself: a v1 record
    has its own copy; a v2 record names the shared one by its `policy_bundle_digest`."""
    try:
        read(f"{base}/{INDEX}")
        return BundlePaths(f"{base}/{INDEX}", f"{base}/{FILES_DIR}")
    except KeyError:
        digest = json.loads(read(f"{base}/decision.json")).get("policy_bundle_digest")
        shared = shared_dir(str(digest))
        return BundlePaths(f"{shared}/index.json", f"{shared}/files")


def shared_index(entry: dict[str, Any]) -> str | None:
    """The one path outside the allow-list a v2 promotion or denial may list: its
    bundle's `policy/<hex>/index.json`, on the bundle's first use (the files beside it
    are proven to be exactly the index's, see `check_decision_files`)."""
    if entry.get("kfm_ledger_entry_version") == "v1" or entry.get("type") not in (
            "promotion", "denied"):
        return None
    try:
        return f"{shared_dir(str(entry.get('policy_bundle_digest')))}/index.json"
    except LedgerError:
        return None


def is_indexed_file(path: str) -> bool:
    """A stored policy file: listed by its bundle's index.json, not by the entry."""
    if path.startswith("datasets/"):
        return f"/{FILES_DIR}/" in path
    parts = path.split("/", 3)
    return len(parts) == 4 and parts[0] == SHARED and parts[2] == "files"


def v2_location(rel: str, digest: str) -> str:
    """Where a v2 entry stores a bundle file given relative to a v1 record
    (`policy/index.json`, `policy/files/…`): under the shared `policy/<hex>/`."""
    return f"{shared_dir(digest)}/{rel[len(SHARED) + 1:]}"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def stored_path(display: str) -> str:
    """`builtin:kfm/x.rego` -> `policy/files/builtin/kfm/x.rego`."""
    label, _, rel = display.partition(":")
    parts = rel.split("/")
    if not label or not rel or any(p in ("", ".", "..") for p in [label, *parts]):
        raise LedgerError(f"policy file name {display!r} cannot be stored")
    return f"{FILES_DIR}/{label}/{rel}"


def bundle_files(bundle: Any) -> dict[str, bytes]:
    """Files to store for `bundle` (relative to the record's directory), re-checked
    against the digests the decision used so what is stored is what was evaluated."""
    out: dict[str, bytes] = {}
    for display, digest in sorted(bundle.files.items()):
        if display in bundle.modules:
            data = bundle.modules[display].encode("utf-8")
        else:
            data = Path(bundle.paths[display]).read_bytes()
        if _sha(data) != digest:
            raise LedgerError("policy file changed while promoting", file=display)
        out[stored_path(display)] = data
    out[INDEX] = render_json({"kfm_policy_bundle_version": INDEX_VERSION,
                              "policy_bundle_digest": bundle.digest,
                              "files": dict(sorted(bundle.files.items()))})
    return out


def bundle_digest(files: dict[str, str]) -> str:
    """PolicyBundle.digest over an index's (display path -> digest) map."""
    h = hashlib.sha256()
    for name, digest in sorted(files.items()):
        h.update(name.encode() + b"\x00" + digest.encode() + b"\n")
    return "sha256:" + h.hexdigest()


def record_dir(entry: dict[str, Any], vdir: str | None = None) -> str:
    """Where an entry's decision evidence lives on the ledger; `vdir`: the version's
    folder (default: the v1/v2 one, where every v1 record is)."""
    vdir = vdir or legacy_version_dir(entry["dataset_slug"], entry["dataset_version_id"])
    if entry["type"] == "denied":
        return f"{vdir}/denied/{entry['seq']:09d}"
    return vdir


def check_decision_files(checker: Any, entry: dict[str, Any], tree: Any,
                         oids: dict[str, Any], parent_tree: Any, vdir: str
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """decision.json, capsule.json and the policy index agree with the entry. Returns the
    stored policy files this commit writes (ledger path -> blob id: the index lists them,
    the entry does not) and their directory as one whole-tree write, proven to hold
    exactly those files. `oids` maps every path the entry lists to its blob id (digests
    already checked). A v2 entry whose bundle is already stored writes none: the stored
    one (unchanged, as the exact-tree check proves) is checked against the entry.
    `vdir`: the version's folder."""
    from promote_action.ledger.checks import Bad

    base = record_dir(entry, vdir)
    try:
        where = bundle_paths(entry)
    except LedgerError as e:
        raise Bad(str(e)) from None
    needed = [f"{base}/decision.json", f"{base}/capsule.json"]
    written = where.index in oids
    if entry.get("kfm_ledger_entry_version") == "v1" or written:
        needed.append(where.index)
    missing = [p for p in needed if p not in oids]
    if missing:
        raise Bad(f"entry does not record its decision evidence ({missing[0]})")
    if written and entry.get("kfm_ledger_entry_version") != "v1":
        try:
            parent_tree[where.index.rpartition("/")[0]]
        except KeyError:
            pass
        else:
            raise Bad(f"{where.index}: the bundle is stored already (written once, then "
                      "referenced)")
    index_oid = oids[where.index] if written else checker.entry_at(tree, where.index).id
    try:
        decision = json.loads(checker.read(oids[needed[0]]))
    except ValueError:
        raise Bad(f"{base}: decision.json is malformed") from None
    files = _index(checker, index_oid, entry, decision, where)
    found = _stored_files(checker, tree, where, index_oid, files)
    if not written:
        return {}, {}
    from promote_action.ledger.treecheck import WholeTree

    return ({f"{where.files}/{rel}": oid for rel, oid in found.items()},
            {where.files: WholeTree(tree[where.files].id.raw)})


def _index(checker: Any, index_oid: Any, entry: dict[str, Any], decision: Any,
           where: BundlePaths) -> dict[str, str]:
    """The bundle index's files, once it agrees with the entry and the decision."""
    from promote_action.ledger.checks import Bad

    try:
        indexed = checker.index_cache.get(index_oid)
        if indexed is None:  # one bundle, one index blob: parsed and digested once
            index = json.loads(checker.read(index_oid))
            files = index["files"]
            if not isinstance(files, dict):
                raise TypeError
            indexed = checker.index_cache[index_oid] = (
                files, index.get("policy_bundle_digest"), bundle_digest(files))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Bad(f"{where.index} is malformed") from None
    files, index_digest, computed = indexed
    want = entry.get("policy_bundle_digest")
    if not isinstance(decision, dict) or decision.get("decision_id") != entry.get(
            "decision_id"):
        raise Bad("stored decision.json has a different decision_id than the entry")
    if not (decision.get("policy_bundle_digest") == index_digest == computed == want):
        raise Bad("policy bundle digest differs between the entry, decision.json and the "
                  "stored bundle")
    if decision.get("policy_files") != files:
        raise Bad("decision.json policy_files differ from the stored bundle index")
    if entry["type"] == "promotion" and (decision.get("outcome") != "pass"
                                         or decision.get("result", {}).get("allow") is not True):
        raise Bad("a promotion whose stored decision is not an allow")
    return files  # type: ignore[no-any-return]


def _stored_files(checker: Any, tree: Any, where: BundlePaths, index_oid: Any,
                  files: dict[str, str]) -> dict[str, Any]:
    """The bundle folder holds exactly the index's files with their digests (checked
    once per (folder tree, index): an unchanged bundle is the same tree)."""
    from promote_action.ledger.checks import Bad

    folder = where.files
    try:
        subtree = tree[folder]
    except KeyError:
        raise Bad(f"{folder} (the stored policy bundle) is missing") from None
    if not isinstance(subtree, pygit2.Tree):
        raise Bad(f"{folder} (the stored policy bundle) is not a directory")
    key = (subtree.id, index_oid)
    found = checker.policy_cache.get(key)
    if found is None:
        found = {}
        for display, digest in files.items():
            try:
                rel = stored_path(display)[len(FILES_DIR) + 1:]
            except LedgerError as e:
                raise Bad(str(e)) from None
            try:
                obj = subtree[rel]
            except KeyError:
                raise Bad(f"stored policy file {folder}/{rel} is missing") from None
            if obj.filemode != pygit2.enums.FileMode.BLOB or checker.digest(obj.id) != digest:
                raise Bad(f"stored policy file {folder}/{rel} does not match the "
                          "bundle index")
            found[rel] = obj.id
        if not checker.trees.exactly(subtree.id.raw, found):
            raise Bad(f"{folder} holds files its {where.index} does not list")
        checker.policy_cache[key] = found
    return found  # type: ignore[no-any-return]


def rebuild_bundle(read: Any, where: BundlePaths) -> Any:
    """The PolicyBundle stored at `where`, loaded exactly as `load_bundle` loads dirs.

    Files are written to a temp dir (one sub-dir per root label) and loaded with the
    product's own loader, then renamed back to their original display labels.
    """
    from promote_action.policy.bundle import load_bundle

    index = json.loads(read(where.index))
    files: dict[str, str] = index["files"]
    labels = sorted({d.partition(":")[0] for d in files}, key=lambda x: (x != "builtin", x))
    with tempfile.TemporaryDirectory(prefix="kfm-replay-policy-") as tmp:
        for display in files:
            label, _, rel = display.partition(":")
            target = Path(tmp, label, *rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read(where.file(display)))
        bundle = load_bundle([Path(tmp, label) for label in labels], include_builtin=False)
    rename = {f"policy{i}": label for i, label in enumerate(labels)}

    def fix(d: dict[str, Any]) -> dict[str, Any]:
        return {rename[k.partition(":")[0]] + ":" + k.partition(":")[2]: v
                for k, v in d.items()}

    bundle.modules, bundle.files, bundle.paths = (fix(bundle.modules), fix(bundle.files),
                                                  fix(bundle.paths))
    return bundle
