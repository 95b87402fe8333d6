"""The sequential part of verify, and the state it leaves for `verify --since`.

`Sequence` holds what checking an entry needs from every earlier entry: the chain digest,
the promoted versions (immutable from then on), the manifests already recorded (no
replays), the policy bundle lineage (no rollbacks), each promotion's signed tag and the
counts. A full verify builds it from the root; `--since` needs it at the checkpoint
without re-reading the prefix, so a successful verify stores it in the repository's git
directory (`<git dir>/kfm-promote/verified/<commit>.json`, or `--state-dir`).

Why the stored state may be used: it is written only by a successful verify of this
repository's ledger, named by the checkpoint commit (whose id binds the whole prefix)
and stamped with the checkpoint's seq and entry digest, the trust root, the allow-list
and the check options it was verified under, plus the SHA-256 of its own content. A run
whose checkpoint, trust root, allow-list or options differ, or whose file is missing or
damaged, does not use it: it falls back to a full verify (which proves the checkpoint
too) and says so. The prefix tags are not taken on trust either: every `kfm/` tag's
object id is compared with the one verified; a moved, re-signed or new tag is checked
again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from promote_action.ledger.checks import Bad, Facts
from promote_action.ledger.entry import ENTRY_TYPES, is_bucket

STATE_VERSION = "v2"  # v1 stored promoted rows; a v1 state is not used (full verify)
KEEP = 3  # newest states kept per repository (older checkpoints fall back to full)


def written_version(path: str) -> tuple[str, str, str] | None:
    """(slug, version, rest) of a path inside a version directory (`datasets/<slug>/
    <version>/…`, or v3's `datasets/<slug>/<h1>/<h2>/<version>/…`), else None."""
    parts = path.split("/", 5)
    if len(parts) < 4 or parts[0] != "datasets":
        return None
    if is_bucket(parts[2]):
        return (parts[1], parts[4], parts[5]) if len(parts) == 6 and is_bucket(parts[3]) \
            else None
    return parts[1], parts[2], "/".join(parts[3:])


def mutable_in_version(rest: str) -> bool:
    """What may still be written inside a promoted version's directory: its event list
    and records of later denied attempts (each under its own seq, never rewritten)."""
    return rest == "events.json" or rest.startswith("denied/")


class Sequence:
    """The checks that need every earlier entry: chain, immutability, replays, rollback."""

    def __init__(self, prev: str):
        self.prev = prev
        self.manifests: set[str] = set()
        # (slug, version) -> (promotion commit, manifest digest, signed tag id or "")
        self.promoted: dict[tuple[str, str], tuple[str, str, str]] = {}
        self.policies: list[str] = []  # distinct bundle digests in order of first use
        self.counts: dict[str, int] = {t: 0 for t in ENTRY_TYPES}

    def step(self, f: Facts) -> None:
        if f.prev != self.prev:
            raise Bad("entry prev does not match the previous entry's digest (chain broken)")
        for path in f.paths:
            found = written_version(path)
            if (found is not None and (found[0], found[1]) in self.promoted
                    and not mutable_in_version(found[2])):
                raise Bad(f"{path} belongs to an already promoted version (immutable)")
        if f.type in ("promotion", "denied"):
            self.policy(f.policy_digest or "")
        if f.type == "promotion":
            if (f.slug, f.version) in self.promoted:
                raise Bad(f"version {f.version} of {f.slug} is promoted twice")
            if f.manifest_digest in self.manifests:
                raise Bad("manifest already recorded by an earlier entry (replay)")
            self.promoted[(f.slug, f.version)] = (f.commit, f.manifest_digest or "",
                                                  f.extra.get("tag") or "")
            self.manifests.add(f.manifest_digest or "")
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

    # -- persistence --------------------------------------------------------------------
    # The promoted versions are stored column by column, each column one newline-joined
    # string: a ledger of 100,000 promotions then loads with a few C-level splits and
    # zips instead of 100,000 Python-level row parses (0.2 s of a `--since` run).
    COLUMNS = ("slugs", "versions", "commits", "manifests", "tags")

    def to_json(self) -> dict[str, Any]:
        keys, rows = list(self.promoted), list(self.promoted.values())
        cols = [[k[0] for k in keys], [k[1] for k in keys], [r[0] for r in rows],
                [r[1] for r in rows], [r[2] for r in rows]]
        return {"prev": self.prev, "policies": self.policies, "counts": self.counts,
                "promoted_count": len(keys),
                "promoted": {name: "\n".join(col) for name, col in zip(self.COLUMNS, cols,
                                                                       strict=True)}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sequence:
        seq = cls(data["prev"])
        seq.policies = list(data["policies"])
        seq.counts = {t: int(data["counts"][t]) for t in ENTRY_TYPES}
        n = int(data["promoted_count"])
        cols = [data["promoted"][name].split("\n") if n else [] for name in cls.COLUMNS]
        if any(len(col) != n for col in cols):
            raise ValueError("promoted columns of different lengths")
        slugs, versions, commits, manifests, tags = cols
        # rows as tuples: 100,000 lists cost four times as much to build
        seq.promoted = dict(zip(zip(slugs, versions, strict=True),
                                zip(commits, manifests, tags, strict=True), strict=True))
        if len(seq.promoted) != n:
            raise ValueError("a version is listed twice")
        seq.manifests = set(manifests)
        return seq


def context_digest(trust: Any, destinations: list[str], tags: bool, replay: bool) -> str:
    """What a state was verified under: the trust root (keys, names, namespaces,
    windows, revocations), the allow-list and the options that add checks."""
    signers = sorted([s.public_key, s.principals, s.namespaces, str(s.valid_after),
                      str(s.valid_before)] for s in trust.signers)
    blob = json.dumps({"v": STATE_VERSION, "signers": signers,
                       "revoked": sorted(trust.revoked), "destinations": destinations,
                       "tags": tags, "replay": replay}, sort_keys=True)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def _path(state_dir: Path, commit: str) -> Path:
    return Path(state_dir) / f"{commit}.json"


def _seal(body: dict[str, Any]) -> bytes:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return (json.dumps({"sha256": hashlib.sha256(raw.encode()).hexdigest()}) + "\n"
            + raw + "\n").encode()


def save_state(state_dir: Path, checkpoint: Any, context: str, seq: Sequence) -> None:
    """Write atomically (temp file + rename) and keep only the newest few states; a
    failure to write only loses the speed-up, never the verdict."""
    try:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        body = {"kfm_verify_state_version": STATE_VERSION, "checkpoint": str(checkpoint),
                "context": context, "state": seq.to_json()}
        target = _path(state_dir, checkpoint.commit)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(_seal(body))
        tmp.replace(target)
        _prune(Path(state_dir))
    except OSError:
        return


def _prune(state_dir: Path) -> None:
    found = sorted(state_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in found[KEEP:]:
        old.unlink(missing_ok=True)


def load_state(state_dir: Path | None, checkpoint: Any, context: str
               ) -> tuple[Sequence | None, str]:
    """(state at the checkpoint, "") or (None, why it cannot be used)."""
    if state_dir is None:
        return None, "no state directory"
    path = _path(state_dir, checkpoint.commit)
    try:
        head, _, raw = path.read_bytes().partition(b"\n")
        want = json.loads(head)["sha256"]
        if hashlib.sha256(raw.rstrip(b"\n")).hexdigest() != want:
            return None, "the stored verified state is damaged"
        body = json.loads(raw)
    except FileNotFoundError:
        return None, "no verified state for this checkpoint in this repository"
    except (OSError, ValueError, KeyError, TypeError):
        return None, "the stored verified state is unreadable"
    if body.get("kfm_verify_state_version") != STATE_VERSION:
        return None, "the stored verified state was written in another format"
    if body.get("checkpoint") != str(checkpoint):
        return None, "the stored verified state is for another checkpoint"
    if body.get("context") != context:
        return None, ("the trust root, allow-list or options differ from those the "
                      "checkpoint was verified under")
    try:
        return Sequence.from_json(body["state"]), ""
    except (KeyError, ValueError, TypeError, AttributeError):
        return None, "the stored verified state is unreadable"
