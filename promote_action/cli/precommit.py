"""`kfm-promote-precommit FILE...`: the pre-commit hook (see .pre-commit-hooks.yaml).

Validates each dataset directory containing a changed file, in the embedded engine unless
`opa` is on PATH; the exit code is the worst of the per-dataset exit codes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    from promote_action.cli.main import main as cli_main
    from promote_action.datasets import dataset_dirs_for

    files = list(argv if argv is not None else sys.argv[1:])
    extra: list[str] = []
    if "--" in files:
        i = files.index("--")
        files, extra = files[:i], files[i + 1:]
    worst = 0
    for d in dataset_dirs_for(files, Path.cwd()):
        rel = d.relative_to(Path.cwd().resolve())
        worst = max(worst, cli_main(["validate", "--spec", str(rel), *extra]))
    return worst


def entrypoint() -> None:
    sys.exit(main())
