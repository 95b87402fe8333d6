"""A policy bundle: Rego modules plus data documents, loaded the way `opa -d DIR` loads them.

Both engines must see byte-identical policy, so the bundle is read once here: modules in
path order, data files merged under their directory's path relative to the root given
(as `opa eval -d` does), conflicts refused. The bundle digest covers every file, so a
decision record names exactly the policy that produced it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promote_action.errors import PolicyLoadError
from promote_action.resources import data_root

_DATA_SUFFIXES = {".json", ".yaml", ".yml"}


@dataclass
class PolicyBundle:
    roots: list[Path]
    modules: dict[str, str] = field(default_factory=dict)  # display path -> source
    data: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # display path -> sha256 digest
    paths: dict[str, str] = field(default_factory=dict)  # display path -> file on disk

    @property
    def digest(self) -> str:
        """sha256 over (path, file digest) pairs in sorted order: content-addressed."""
        h = hashlib.sha256()
        for name, digest in sorted(self.files.items()):
            h.update(name.encode() + b"\x00" + digest.encode() + b"\n")
        return "sha256:" + h.hexdigest()


def builtin_policy_dir() -> Path:
    return data_root("policy")


def load_bundle(extra: list[Path] | None = None, *, include_builtin: bool = True
                ) -> PolicyBundle:
    """Load the built-in policy plus user directories (their rules add to ours)."""
    roots = _roots([Path(p) for p in extra or []], include_builtin)
    bundle = PolicyBundle(roots=roots)
    owners: dict[str, str] = {}  # data key path -> the file that defined it
    for index, root in enumerate(roots):
        label = "builtin" if include_builtin and index == 0 else f"policy{index}"
        for rel, path in _policy_files(root):
            display = f"{label}:{rel}"
            bundle.paths[display] = str(path)
            if path.suffix == ".rego":
                src = _read(path)
                bundle.modules[display] = src
                bundle.files[display] = "sha256:" + hashlib.sha256(src.encode()).hexdigest()
            elif path.suffix in _DATA_SUFFIXES and not rel.startswith("tests/"):
                from promote_action.safeload import load_document

                doc = load_document(path, display=str(path))
                if not isinstance(doc.data, dict):
                    raise PolicyLoadError("policy data must be an object at the top level",
                                          file=str(path))
                prefix = list(path.relative_to(root).parent.parts)
                _merge(bundle.data, prefix, doc.data, str(path), owners)
                bundle.files[display] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return bundle


def _policy_files(root: Path) -> list[tuple[str, Path]]:
    """(posix relative path, file) of every non-hidden file under `root`, in path order."""
    if not root.is_dir():
        raise PolicyLoadError("policy directory not found", file=str(root))
    return [(path.relative_to(root).as_posix(), path) for path in sorted(root.rglob("*"))
            if path.is_file()
            and not any(p.startswith(".") for p in path.relative_to(root).parts)]


def _roots(extra: list[Path], include_builtin: bool) -> list[Path]:
    """The directories to load, each once. A user directory that IS the built-in policy
    (same resolved path, e.g. `policy/` in a checkout of this repository, or an exact
    copy of its files) is the built-in policy: loading it again would define every rule
    and data key twice. The same directory named twice is loaded once. Anything else is
    loaded, so two directories that really conflict still fail, naming both files."""
    if not include_builtin:
        return extra
    builtin = builtin_policy_dir()
    seen = {builtin.resolve()}
    builtin_files: dict[str, bytes] | None = None
    roots = [builtin]
    for root in extra:
        resolved = root.resolve()
        if resolved in seen:
            continue
        if root.is_dir():
            if builtin_files is None:
                builtin_files = _contents(builtin)
            if _contents(root) == builtin_files:
                continue
        seen.add(resolved)
        roots.append(root)
    return roots


def _contents(root: Path) -> dict[str, bytes]:
    return {rel: path.read_bytes() for rel, path in _policy_files(root)}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyLoadError(f"cannot read policy file: {e}", file=str(path)) from e


def _merge(target: dict[str, Any], prefix: list[str], value: dict[str, Any], origin: str,
           owners: dict[str, str]) -> None:
    node = target
    for part in prefix:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise PolicyLoadError(f"data path {'/'.join(prefix)} conflicts", file=origin)
    _deep_merge(node, value, origin, "/".join(prefix), owners)


def _deep_merge(into: dict[str, Any], value: dict[str, Any], origin: str, at: str,
                owners: dict[str, str]) -> None:
    for k, v in value.items():
        path = f"{at}/{k}"
        if k in into:
            if isinstance(into[k], dict) and isinstance(v, dict):
                _deep_merge(into[k], v, origin, path, owners)
                continue
            first = _owner(owners, path)
            raise PolicyLoadError(f"data key {path} is defined twice (merge conflict with "
                                  f"{first})", file=origin)
        into[k] = v
        owners[path] = origin


def _owner(owners: dict[str, str], path: str) -> str:
    """The file that set `path` or the object holding it (its closest recorded parent)."""
    while path:
        if path in owners:
            return owners[path]
        path = path.rpartition("/")[0]
    return "another policy file"


def table(bundle_data: dict[str, Any], name: str) -> Any:
    """A table from `data.kfm.tables` (the single source shared by gates and Rego)."""
    return bundle_data.get("kfm", {}).get("tables", {}).get(name)
