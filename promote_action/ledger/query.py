"""Auditor queries that stay fast on a long ledger: read a dataset's versions and their
`events.json` (a verified index: `verify` requires each entry to extend its version's
list by exactly its own row) and then only the entries they name, never every entry.
Each entry read is cross-checked against the row that named it, so a listing can never
show an entry for another dataset or another seq.
"""

from __future__ import annotations

from typing import Any

from promote_action.errors import LedgerError
from promote_action.ledger.entry import find_version_dir, is_bucket
from promote_action.ledger.store import LedgerView


def dataset_versions(view: LedgerView, slug: str) -> dict[str, str]:
    """Version id -> its folder, for every version of `slug` (v1/v2 folders directly in
    the dataset's, v3 ones two levels down in their hash folders)."""
    out: dict[str, str] = {}
    base = f"datasets/{slug}"
    for name in view.list_dir(base):
        if is_bucket(name):
            for sub in view.list_dir(f"{base}/{name}"):
                if is_bucket(sub):
                    for version in view.list_dir(f"{base}/{name}/{sub}"):
                        out[version] = f"{base}/{name}/{sub}/{version}"
        elif name != "README.md":
            out[name] = f"{base}/{name}"
    return out


def version_folder(view: LedgerView, slug: str, version: str) -> str | None:
    """The folder of one recorded version, of either layout (None: not on the ledger)."""
    return find_version_dir(lambda p: view.read(p) is not None, slug, version)


def dataset_entries(view: LedgerView, slug: str) -> list[dict[str, Any]]:
    """Every entry of dataset `slug`, newest first; cost ~ the dataset's own events."""
    rows: list[tuple[int, str, dict[str, Any]]] = []
    for version, folder in dataset_versions(view, slug).items():
        path = f"{folder}/events.json"
        events = view.read_json(path)
        if not isinstance(events, list):
            continue  # a version folder without events holds no entry of its own
        for ev in events:
            if not isinstance(ev, dict) or not isinstance(ev.get("seq"), int):
                raise LedgerError("malformed event row (run `kfm-promote verify`)", file=path)
            rows.append((ev["seq"], version, ev))
    out = []
    for seq, version, ev in sorted(rows, key=lambda r: r[0], reverse=True):
        epath, entry = view.read_entry(seq)
        if not isinstance(entry, dict) or (entry.get("seq"), entry.get("dataset_slug"),
                                           entry.get("dataset_version_id"),
                                           entry.get("type")) != (seq, slug, version,
                                                                  ev.get("type")):
            raise LedgerError(f"entry #{seq} does not match the event naming it (run "
                              "`kfm-promote verify`)", file=epath)
        out.append(entry)
    return out
