"""The evidence a decision can be replayed from: the capsule and the exact policy bundle.

Each promotion (and each denied attempt) stores, beside its `decision.json`:
- `capsule.json` — the policy input, whose canonical digest is the record's input_digest;
- `policy/index.json` — the bundle digest and every file's digest by display path;
- `policy/files/<root label>/<path>` — the bytes of every file the digest covers.

So an auditor can rebuild the very bundle the decision was made with, from the ledger
alone, years later, and re-run it (`kfm-promote verify --replay`). Identical bundles
give identical blobs and trees, so git stores each policy version once however many
promotions it judged.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pygit2

from promote_action.errors import LedgerError
from promote_action.ledger.entry import render_json, version_dir

INDEX = "policy/index.json"
FILES_DIR = "policy/files"
INDEX_VERSION = "v1"


def is_indexed_file(path: str) -> bool:
    """A stored policy file: listed by its record's policy/index.json, not by the entry."""
    return f"/{FILES_DIR}/" in path and path.startswith("datasets/")


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


def record_dir(entry: dict[str, Any]) -> str:
    """Where an entry's decision evidence lives on the ledger."""
    vdir = version_dir(entry["dataset_slug"], entry["dataset_version_id"])
    if entry["type"] == "denied":
        return f"{vdir}/denied/{entry['seq']:09d}"
    return vdir


def check_decision_files(checker: Any, entry: dict[str, Any], tree: Any,
                         oids: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """decision.json, capsule.json and the policy index agree with the entry. Returns the
    stored policy files (ledger path -> blob id: the index lists them, the entry does
    not) and their directory as one whole-tree write, proven to hold exactly those files.
    `oids` maps every path the entry lists to its blob id (digests already checked)."""
    from promote_action.ledger.checks import Bad
    from promote_action.ledger.treecheck import WholeTree

    base = record_dir(entry)
    needed = [f"{base}/decision.json", f"{base}/capsule.json", f"{base}/{INDEX}"]
    missing = [p for p in needed if p not in oids]
    if missing:
        raise Bad(f"entry does not record its decision evidence ({missing[0]})")
    index_oid = oids[needed[2]]
    try:
        decision = json.loads(checker.read(oids[needed[0]]))
        indexed = checker.index_cache.get(index_oid)
        if indexed is None:  # one bundle, one index blob: parsed and digested once
            index = json.loads(checker.read(index_oid))
            files = index["files"]
            if not isinstance(files, dict):
                raise TypeError
            indexed = checker.index_cache[index_oid] = (
                files, index.get("policy_bundle_digest"), bundle_digest(files))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Bad(f"{base}: decision.json or {INDEX} is malformed") from None
    files, index_digest, computed = indexed
    want = entry.get("policy_bundle_digest")
    if decision.get("decision_id") != entry.get("decision_id"):
        raise Bad("stored decision.json has a different decision_id than the entry")
    if not (decision.get("policy_bundle_digest") == index_digest == computed == want):
        raise Bad("policy bundle digest differs between the entry, decision.json and the "
                  "stored bundle")
    if decision.get("policy_files") != files:
        raise Bad("decision.json policy_files differ from the stored bundle index")
    if entry["type"] == "promotion" and (decision.get("outcome") != "pass"
                                         or decision.get("result", {}).get("allow") is not True):
        raise Bad("a promotion whose stored decision is not an allow")
    folder = f"{base}/{FILES_DIR}"
    try:
        subtree = tree[folder]
    except KeyError:
        raise Bad(f"{folder} (the stored policy bundle) is missing") from None
    if not isinstance(subtree, pygit2.Tree):
        raise Bad(f"{folder} (the stored policy bundle) is not a directory")
    key = (subtree.id, index_oid)
    found = checker.policy_cache.get(key)
    if found is None:  # an unchanged bundle is the same tree: check its files once
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
            raise Bad(f"{folder} holds files its {INDEX} does not list")
        checker.policy_cache[key] = found
    return ({f"{folder}/{rel}": oid for rel, oid in found.items()},
            {folder: WholeTree(subtree.id.raw)})


def rebuild_bundle(read: Any, base: str) -> Any:
    """The PolicyBundle stored under `base`, loaded exactly as `load_bundle` loads dirs.

    Files are written to a temp dir (one sub-dir per root label) and loaded with the
    product's own loader, then renamed back to their original display labels.
    """
    from promote_action.policy.bundle import load_bundle

    index = json.loads(read(f"{base}/{INDEX}"))
    files: dict[str, str] = index["files"]
    labels = sorted({d.partition(":")[0] for d in files}, key=lambda x: (x != "builtin", x))
    with tempfile.TemporaryDirectory(prefix="kfm-replay-policy-") as tmp:
        for display in files:
            label, _, rel = display.partition(":")
            target = Path(tmp, label, *rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read(f"{base}/{stored_path(display)}"))
        bundle = load_bundle([Path(tmp, label) for label in labels], include_builtin=False)
    rename = {f"policy{i}": label for i, label in enumerate(labels)}

    def fix(d: dict[str, Any]) -> dict[str, Any]:
        return {rename[k.partition(":")[0]] + ":" + k.partition(":")[2]: v
                for k, v in d.items()}

    bundle.modules, bundle.files, bundle.paths = (fix(bundle.modules), fix(bundle.files),
                                                  fix(bundle.paths))
    return bundle
