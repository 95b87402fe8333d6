"""How fast could any Python verifier of this ledger be? A lower bound, measured.

Per entry this loop does only the work no verifier can skip: read the commit and check
its id, check its SSH signature, look up and parse the entry, read and SHA-256 every file
the entry lists, parse the manifest and check its DSSE envelope, parse the decision
record and the version's event list, find the policy bundle it names (in the v2 layout
stored once under `policy/<digest hex>/` and listed only by the entry that first stored
it; in v1 listed by every record), read and hash every folder tree on the entry's paths
that differs from the previous commit's (the least an exact-changed-paths check must look
at), read the signed tag and check its signature. It skips what `kfm-promote verify` adds
on top: comparing those trees entry by entry with the parent's, the root tree and the
paths the entry does not name, the canonical-bytes check of each entry, trust windows,
the allow-list, the cross-checks between entry, manifest, decision and policy bundle, and
the sequential chain. So its time is a floor for the real thing, and `bench/ledger.py`
prints both side by side.

    python bench/verify_floor.py REPO_DIR        (a ledger built by bench/ledger.py)
"""

from __future__ import annotations

import base64
import hashlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pygit2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promote_action.ledger.entry import entry_path, tag_name, version_dir
from promote_action.signing.ed25519 import verify as ed25519_verify
from promote_action.signing.keys import public_key_raw
from promote_action.signing.sshsig import sshsig_verify

REF = "refs/heads/kfm-ledger"


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def floor(repo_dir: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, entries) of the stripped-down loop, in one process."""
    pygit2.settings.enable_strict_hash_verification(False)  # ids checked below instead
    try:
        return _floor(pygit2.Repository(str(repo_dir)))
    finally:
        pygit2.settings.enable_strict_hash_verification(True)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"verify_floor: {what} failed: the floor must do the real work")


def _changed_trees(read: Any, tree: pygit2.Tree, paths: list[str],
                   dirs: dict[str, pygit2.Oid]) -> None:
    """Read and hash every folder tree on the entry's paths that differs from the one the
    previous commit had there: the least an exact-changed-paths check must look at (the
    unchanged folders are known by id from the previous entry)."""
    for folder in {p.rsplit("/", i)[0] for p in paths for i in range(1, p.count("/") + 1)}:
        oid = tree[folder].id
        if dirs.get(folder) == oid:
            continue
        dirs[folder] = oid
        body = read(oid)[1]
        _check(hashlib.sha1(b"tree %d\0" % len(body) + body).digest() == oid.raw, folder)


def _floor(repo: pygit2.Repository) -> tuple[float, float, int]:
    read = repo.odb.read
    tip = repo.references[REF].resolve().target
    walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    chain = [c.id for c in walker]
    tags = {r.name: r.target for r in repo.references.iterator()
            if r.name.startswith("refs/tags/kfm/")}
    dirs: dict[str, pygit2.Oid] = {}
    cpu0, t0 = _cpu(), time.perf_counter()
    for seq in range(1, len(chain)):
        cid = chain[seq]
        raw = read(cid)[1]
        _check(hashlib.sha1(b"commit %d\0" % len(raw) + raw).digest() == cid.raw, "commit id")
        commit = repo[cid]
        sig, payload = commit.gpg_signature
        public = sshsig_verify(sig.decode(), payload, "git")
        tree = commit.tree
        try:
            epath = entry_path(seq)
            eobj = tree[epath]
        except KeyError:  # an entry of an older layout (ledger/README.md)
            epath = entry_path(seq, "v2")
            eobj = tree[epath]
        entry = json.loads(read(eobj.id)[1])
        json.dumps(entry, sort_keys=True, separators=(",", ":"))  # the chain digest's input
        files = {}
        for path, want in entry["files"].items():
            data = read(tree[path].id)[1]
            _check("sha256:" + hashlib.sha256(data).hexdigest() == want, path)
            files[path] = data
        _changed_trees(read, tree, [epath, *entry["files"]], dirs)
        if entry["type"] != "promotion":
            continue
        vdir = version_dir(entry["dataset_slug"], entry["dataset_version_id"],
                           entry["kfm_ledger_entry_version"])  # a promotion: a new version
        manifest = json.loads(files[f"{vdir}/manifest.json"])
        envelope = json.loads(files[f"{vdir}/manifest.dsse.json"])
        body = base64.b64decode(envelope["payload"])
        ptype = envelope["payloadType"].encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)
        sig_raw = base64.b64decode(envelope["signatures"][0]["sig"])
        _check(ed25519_verify(public_key_raw(public), sig_raw, pae), "DSSE signature")
        _check(json.loads(body)["predicate"] == manifest, "DSSE predicate")
        json.loads(files[f"{vdir}/decision.json"])
        if entry["kfm_ledger_entry_version"] != "v1":  # the shared bundle must be there
            tree[f"policy/{entry['policy_bundle_digest'][7:]}/index.json"]
        events = files.get(f"{vdir}/events.json")
        if events is not None:  # v2: the version's event list, checked against the parent's
            json.loads(events)
        target = tags[f"refs/tags/{tag_name(entry['dataset_slug'], entry['dataset_version_id'])}"]
        tag = read(target)[1]
        _check(hashlib.sha1(b"tag %d\0" % len(tag) + tag).digest() == target.raw, "tag id")
        cut = tag.rindex(b"-----BEGIN SSH SIGNATURE-----")
        sshsig_verify(tag[cut:].decode(), tag[:cut], "git")
    return time.perf_counter() - t0, _cpu() - cpu0, len(chain) - 1


def main() -> int:
    wall, cpu, n = floor(Path(sys.argv[1]))
    print(f"verify floor: {n} entries in {wall:.2f} s ({cpu:.2f} s CPU) in one process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
