"""Replay: re-make a recorded decision from what the ledger stores, on every engine.

A decision record is only as good as the claim that *this* policy, given *this* input,
said *this*. The ledger stores both (`policy_store.py`), so an auditor can rebuild the
bundle, re-evaluate the capsule with the embedded engine and with `opa` (when on PATH),
and require the record to come out byte for byte identical to the stored
`decision.json` — decision_id, input and policy digests, result and explain. The one
field set from the stored record is `engine`, which names who evaluated first. Any
difference (a tampered stored bundle or capsule, an engine that disagrees, a record
edited after the fact) is reported with the entry and commit.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pygit2

from promote_action.ledger.entry import render_json
from promote_action.ledger.policy_store import (
    BundlePaths,
    bundle_paths,
    rebuild_bundle,
    record_bundle_paths,
    record_dir,
)

Reader = Callable[[str], bytes]


class Replayer:
    def __init__(self, engines: list[Any]):
        self.engines = engines
        self._bundles: dict[bytes, Any] = {}
        self._done: dict[tuple[int, bytes, bytes], dict[str, Any]] = {}

    @property
    def engine_names(self) -> list[str]:
        return [e.name for e in self.engines]

    @classmethod
    def available(cls) -> Replayer:
        """The embedded engine always; the real OPA too when `opa` is on PATH."""
        from promote_action.policy.engines import EmbeddedEngine, OpaEngine

        engines: list[Any] = [EmbeddedEngine()]
        if shutil.which("opa"):
            engines.append(OpaEngine())
        return cls(engines)

    def bundle(self, read: Reader, where: BundlePaths) -> Any:
        """The stored bundle, rebuilt once per distinct set of stored bytes."""
        import hashlib

        index = read(where.index)
        h = hashlib.sha256(index)
        for display in sorted(json.loads(index)["files"]):
            h.update(hashlib.sha256(read(where.file(display))).digest())
        key = h.digest()
        if key not in self._bundles:
            self._bundles[key] = rebuild_bundle(read, where)
        return self._bundles[key]

    def replay_record(self, read: Reader, base: str, where: BundlePaths | None = None
                      ) -> dict[str, Any]:
        """{"engines": {name: decision_id}, "mismatch": why or None} for one record."""
        import hashlib

        from promote_action.errors import Error

        stored = read(f"{base}/decision.json")
        try:
            recorded = json.loads(stored)
            capsule_bytes = read(f"{base}/capsule.json")
            capsule = json.loads(capsule_bytes)
            bundle = self.bundle(read, where or record_bundle_paths(read, base))
        except (KeyError, ValueError, Error) as e:
            return {"engines": {}, "mismatch": f"{base}: cannot rebuild the decision "
                                               f"inputs ({e})"}
        # engines are deterministic: the same (bundle, capsule, record) replays the same
        key = (id(bundle), hashlib.sha256(capsule_bytes).digest(),
               hashlib.sha256(stored).digest())
        if key in self._done:
            return {**self._done[key], "cached": True}
        self._done[key] = result = self._evaluate(bundle, capsule, recorded, stored, base)
        return result

    def _evaluate(self, bundle: Any, capsule: Any, recorded: dict[str, Any], stored: bytes,
                  base: str) -> dict[str, Any]:
        from promote_action.errors import Error
        from promote_action.policy.decision import evaluate

        out: dict[str, Any] = {"engines": {}, "mismatch": None}
        for engine in self.engines:
            try:
                record = evaluate(bundle, capsule, engine).record()
            except Error as e:
                out["mismatch"] = f"{base}: replay on {engine.name} failed ({e})"
                return out
            record["engine"] = recorded.get("engine")
            out["engines"][engine.name] = record["decision_id"]
            if render_json(record) != stored:
                diff = [k for k in sorted(set(record) | set(recorded))
                        if record.get(k) != recorded.get(k)]
                out["mismatch"] = (f"replay on {engine.name} does not reproduce "
                                   f"{base}/decision.json (differs in {', '.join(diff) or 'bytes'}"
                                   f"; replayed {record['decision_id']})")
                return out
        return out

    def replay_commit(self, repo: pygit2.Repository, commit_id: pygit2.Oid, seq: int
                      ) -> dict[str, Any]:
        """Replay the record an entry (promotion or denied) points at, at its commit."""
        from promote_action.ledger.query import version_folder
        from promote_action.ledger.store import LedgerView

        commit = repo.get(commit_id)
        if not isinstance(commit, pygit2.Commit):
            raise ValueError(f"{commit_id} is not a commit")
        view = LedgerView(repo, commit_id)
        epath, entry = view.read_entry(seq)
        if not isinstance(entry, dict):
            raise KeyError(epath)
        vdir = version_folder(view, entry["dataset_slug"], entry["dataset_version_id"])
        return self.replay_record(tree_reader(repo, commit.tree), record_dir(entry, vdir),
                                  bundle_paths(entry))


def tree_reader(repo: pygit2.Repository, tree: pygit2.Tree) -> Reader:
    def read(path: str) -> bytes:
        obj = tree[path]  # KeyError when missing
        blob = repo.get(obj.id) if obj.type == pygit2.enums.ObjectType.BLOB else None
        if not isinstance(blob, pygit2.Blob):
            raise KeyError(path)
        return blob.data

    return read
