"""Find the dataset directories that a set of changed files belongs to.

A dataset directory is the nearest ancestor (inside the repository) holding a spec file.
Used by the pre-commit hook and the GitHub action, so "which datasets did this change
touch" has one answer everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from promote_action.spec import SPEC_NAMES


def dataset_dir_of(path: Path, root: Path) -> Path | None:
    root = root.resolve()
    current = (root / path).resolve() if not path.is_absolute() else path.resolve()
    if current.is_file() or not current.exists():
        current = current.parent
    while current == root or root in current.parents:
        if any((current / n).is_file() for n in SPEC_NAMES):
            return current
        if current == root:
            break
        current = current.parent
    return None


def dataset_dirs_for(paths: Iterable[Path | str], root: Path) -> list[Path]:
    """Sorted, de-duplicated dataset directories containing any of `paths`."""
    found = {d for p in paths if (d := dataset_dir_of(Path(p), root)) is not None}
    return sorted(found)
