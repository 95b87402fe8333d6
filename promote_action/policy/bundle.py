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
    roots = ([builtin_policy_dir()] if include_builtin else []) + [Path(p) for p in extra or []]
    bundle = PolicyBundle(roots=roots)
    for index, root in enumerate(roots):
        if not root.is_dir():
            raise PolicyLoadError("policy directory not found", file=str(root))
        label = "builtin" if include_builtin and index == 0 else f"policy{index}"
        for path in sorted(root.rglob("*")):
            if not path.is_file() or any(p.startswith(".") for p in path.relative_to(root).parts):
                continue
            rel = path.relative_to(root).as_posix()
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
                _merge(bundle.data, prefix, doc.data, str(path))
                bundle.files[display] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return bundle


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyLoadError(f"cannot read policy file: {e}", file=str(path)) from e


def _merge(target: dict[str, Any], prefix: list[str], value: dict[str, Any], origin: str) -> None:
    node = target
    for part in prefix:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise PolicyLoadError(f"data path {'/'.join(prefix)} conflicts", file=origin)
    _deep_merge(node, value, origin, "/".join(prefix))


def _deep_merge(into: dict[str, Any], value: dict[str, Any], origin: str, at: str) -> None:
    for k, v in value.items():
        if k in into:
            if isinstance(into[k], dict) and isinstance(v, dict):
                _deep_merge(into[k], v, origin, f"{at}/{k}")
                continue
            raise PolicyLoadError(f"data key {at}/{k} is defined twice (merge conflict)",
                                  file=origin)
        into[k] = v


def table(bundle_data: dict[str, Any], name: str) -> Any:
    """A table from `data.kfm.tables` (the single source shared by gates and Rego)."""
    return bundle_data.get("kfm", {}).get("tables", {}).get(name)
