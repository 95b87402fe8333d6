"""Create the demo's dataset repository: the passing fixture committed on `main`.

Uses pygit2 (already a dependency) so the quick start needs no git binary, and fixed
author/committer times so every run produces the same commit, hence the same ledger.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pygit2

WHEN = 1772323200  # 2026-03-01T00:00:00Z: the "merge" that promotes the dataset


def main(repo_dir: str, dataset: str, stewards: str) -> None:
    root = Path(repo_dir)
    repo = pygit2.init_repository(str(root), initial_head="main")
    shutil.copytree(dataset, root / "datasets" / Path(dataset).name)
    shutil.copytree(stewards, root / "policy")
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    sig = pygit2.Signature("KFM Demo", "demo@kfm.example", WHEN, 0)
    repo.create_commit("refs/heads/main", sig, sig, "Add kansas_river_gauges 2026-02 (#1)",
                       tree, [])
    print(repo.head.target)


if __name__ == "__main__":
    main(*sys.argv[1:4])
