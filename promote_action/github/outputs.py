"""Step outputs, job summary and workflow commands (the runner's file protocols)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from promote_action.errors import InputError


def set_outputs(path: Path | None, values: Mapping[str, str]) -> None:
    """Append `name<<DELIM` blocks to $GITHUB_OUTPUT.

    The delimiter is derived from the value, so a value (from data) can never close its
    own block early and inject another output.
    """
    if path is None:
        return
    chunks = []
    for name, value in values.items():
        delim = "KFM_EOF_" + hashlib.sha256(value.encode()).hexdigest()[:32]
        chunks.append(f"{name}<<{delim}\n{value}\n{delim}\n")
    _append(path, "".join(chunks))


def append_summary(path: Path | None, markdown: str) -> bool:
    if path is None:
        return False
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n")
    return True


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror}", file=str(path)) from e


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error_command(message: str, title: str = "kfm-promote") -> str:
    """`::error::` line; the title is escaped as a property, the message as data."""
    t = escape_data(title).replace(":", "%3A").replace(",", "%2C")
    return f"::error title={t}::{escape_data(message)}"


def warning_command(message: str, *, file: str = "", title: str = "kfm-promote") -> str:
    def prop(v: str) -> str:
        return escape_data(v).replace(":", "%3A").replace(",", "%2C")
    where = f"file={prop(file)}," if file else ""
    return f"::warning {where}title={prop(title)}::{escape_data(message)}"
