"""Helpers shared by test modules (imported as a plain module; tests/ is on sys.path)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
PASS_DIR = FIXTURES / "pass"
FAIL_DIR = FIXTURES / "fail"
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"


def dump_yaml(value: Any) -> bytes:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 4096
    buf = BytesIO()
    y.dump(value, buf)
    return buf.getvalue()
