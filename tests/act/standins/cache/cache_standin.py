"""Stand-in for actions/cache restore/save in the act tests (never used elsewhere).

The cache is a directory the test owns (KFM_STANDIN_CACHE_DIR): one sub-directory per
entry with `meta.json` (key, version, order) and `data.tar` (the paths, relative to the
workspace). Semantics kept from the real action: restore tries the key exactly, then
each restore key as a prefix in order, the newest matching entry winning; an entry is
only found when it was saved for the same `path` list (the real cache "version"); save
never overwrites an existing key; `cache-hit` is true only for an exact key match.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tarfile
from pathlib import Path
from typing import Any


def _store() -> Path:
    store = os.environ.get("KFM_STANDIN_CACHE_DIR", "")
    if not store:
        sys.exit("::error title=cache (stand-in)::KFM_STANDIN_CACHE_DIR is not set")
    return Path(store)


def _lines(value: str) -> list[str]:
    return [ln.strip() for ln in value.splitlines() if ln.strip()]


def _paths() -> list[str]:
    paths = _lines(os.environ["CACHE_PATH"])
    for p in paths:
        if Path(p).is_absolute() or ".." in Path(p).parts:
            sys.exit(f"::error title=cache (stand-in)::only workspace paths are emulated: {p}")
    return paths


def _version(paths: list[str]) -> str:
    return hashlib.sha256("|".join(paths).encode()).hexdigest()


def _entries() -> list[tuple[dict[str, Any], Path]]:
    found = []
    for meta in _store().glob("*/meta.json"):
        found.append((json.loads(meta.read_text()), meta.parent))
    return sorted(found, key=lambda e: int(e[0]["order"]), reverse=True)  # newest first


def _output(**values: str) -> None:
    with open(os.environ["GITHUB_OUTPUT"], "a") as out:
        for name, value in values.items():
            out.write(f"{name}={value}\n")


def restore(workspace: Path) -> None:
    key, version = os.environ["CACHE_KEY"], _version(_paths())
    entries = [e for e in _entries() if e[0]["version"] == version]
    match = next((e for e in entries if e[0]["key"] == key), None)
    for prefix in [] if match else _lines(os.environ.get("CACHE_RESTORE_KEYS", "")):
        match = next((e for e in entries if str(e[0]["key"]).startswith(prefix)), None)
        if match:
            break
    if match is None:
        print(f"cache (stand-in): no entry for key {key}")
        _output(**{"cache-hit": "false", "cache-primary-key": key, "cache-matched-key": ""})
        return
    with tarfile.open(match[1] / "data.tar") as tar:
        tar.extractall(workspace, filter="data")
    print(f"cache (stand-in): restored {match[0]['key']}")
    _output(**{"cache-hit": str(match[0]["key"] == key).lower(), "cache-primary-key": key,
               "cache-matched-key": match[0]["key"]})


def save(workspace: Path) -> None:
    key, paths = os.environ["CACHE_KEY"], _paths()
    entries = _entries()
    if any(e[0]["key"] == key for e in entries):
        print(f"cache (stand-in): key {key} exists, not saved again")
        return
    final = _store() / hashlib.sha256(key.encode()).hexdigest()[:32]
    tmp = final.with_suffix(".tmp")
    tmp.mkdir(parents=True)
    with tarfile.open(tmp / "data.tar", "w") as tar:
        for p in paths:
            if (workspace / p).exists():
                tar.add(workspace / p, arcname=p)
    order = 1 + max((int(e[0]["order"]) for e in entries), default=0)
    (tmp / "meta.json").write_text(json.dumps({"key": key, "version": _version(paths),
                                               "order": order}))
    tmp.rename(final)
    print(f"cache (stand-in): saved {key}")


if __name__ == "__main__":
    {"restore": restore, "save": save}[sys.argv[1]](Path(os.environ["GITHUB_WORKSPACE"]))
