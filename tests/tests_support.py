"""Helpers shared by test modules (imported as a plain module; tests/ is on sys.path)."""

from __future__ import annotations

from io import BytesIO
from typing import Any


def dump_yaml(value: Any) -> bytes:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 4096
    buf = BytesIO()
    y.dump(value, buf)
    return buf.getvalue()
