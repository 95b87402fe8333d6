"""Flags and output helpers shared by subcommands (kept import-light)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def add_policy_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", action="append", type=Path, default=[], metavar="DIR",
                   help="extra policy directory (Rego + data); repeatable; its deny rules "
                        "add to the built-in policy, they cannot remove them")
    p.add_argument("--engine", choices=["auto", "opa", "embedded"], default="auto",
                   help="policy engine: opa (subprocess), embedded (regorus), auto (opa if "
                        "on PATH, else embedded); default: %(default)s")


def add_schemas_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schemas", type=Path, metavar="DIR",
                   help="reviewed STAC extension schemas with their lock file (default: "
                        "schemas/stac under the repository root; never fetched)")


def add_format_flag(p: argparse.ArgumentParser, choices: list[str], default: str = "text"
                    ) -> None:
    p.add_argument("--format", choices=choices, default=default,
                   help="output format (default: %(default)s)")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half."""
    from promote_action.errors import OutputError

    raw = data.encode() if isinstance(data, str) else data
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except OSError as e:
        # A full disk or a read-only directory is the operator's to fix: name the file.
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write: {e.strerror or e}", file=str(path)) from e
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def emit(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
