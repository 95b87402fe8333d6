"""Helpers shared by test modules (imported as a plain module; tests/ is on sys.path)."""

from __future__ import annotations

import functools
import importlib.util
import sys
from io import BytesIO
from pathlib import Path
from types import ModuleType
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


@functools.cache
def fixture_builder() -> ModuleType:
    """fixtures/build.py as a module, loaded once per test process.

    It is registered as `kfm_fixtures_build`, the name fixture case modules import it by.
    """
    name = "kfm_fixtures_build"
    spec = importlib.util.spec_from_file_location(name, FIXTURES / "build.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
