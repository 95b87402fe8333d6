"""Shared test fixtures.

`run_cli` runs the CLI in-process (fast, for most tests); `run_subprocess` runs the real
`python -m promote_action` (for exit codes, stdout/stderr separation and no-traceback
checks). Real OPA comes from `../shared/bin` when it is beside the repo (as in CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests_support import FAIL_DIR, FIXTURES, PASS_DIR, REPO, SHARED, SHARED_DATA

# Object-storage servers on 127.0.0.1 (moto S3, an HTTP object server, a fault proxy,
# Azurite for Azure Blob, fake-gcs-server for GCS).
pytest_plugins = ["store_servers", "store_clouds"]

__all__ = ["FAIL_DIR", "FIXTURES", "PASS_DIR", "REPO", "SHARED", "SHARED_DATA"]

if (SHARED / "bin" / "opa").exists() and not shutil.which("opa"):
    os.environ["PATH"] = f"{SHARED / 'bin'}{os.pathsep}{os.environ['PATH']}"
# The CI `opa` shim fetches its Go engine into ~/.cache on first use; tests that give a
# child a private HOME must still find that one copy instead of fetching it again.
os.environ.setdefault("OPA_GO_CACHE", str(Path.home() / ".cache" / "opa-go"))


def pytest_configure(config: pytest.Config) -> None:
    """Run `opa version` once in the xdist controller, before any worker starts: the
    CI shim's first use downloads and unpacks its engine, and several first uses at
    once would race on the same cache directory."""
    if hasattr(config, "workerinput") or not shutil.which("opa"):
        return
    proc = subprocess.run(["opa", "version"], capture_output=True, text=True,
                          timeout=900, check=False)
    if proc.returncode != 0 and os.environ.get("CI"):
        raise pytest.UsageError(f"`opa version` failed before the tests: {proc.stderr.strip()}")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    from promote_action.cli.main import main

    def run(*argv: str | Path) -> CliResult:
        code = main([str(a) for a in argv])
        cap = capsys.readouterr()
        return CliResult(code, cap.out, cap.err)

    return run


@pytest.fixture
def run_subprocess() -> Callable[..., CliResult]:
    def run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120, input: str | None = None) -> CliResult:
        proc = subprocess.run([sys.executable, "-m", "promote_action", *map(str, argv)],
                              capture_output=True, text=True, cwd=cwd, timeout=timeout,
                              env={**os.environ, **(env or {})}, input=input, check=False)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def pass_dataset(tmp_path: Path) -> Path:
    """A private copy of the reference passing dataset, safe to mutate."""
    dst = tmp_path / "kansas_river_gauges"
    shutil.copytree(PASS_DIR / "kansas_river_gauges", dst)
    return dst


def opa_available() -> bool:
    return shutil.which("opa") is not None


@pytest.fixture
def require_opa() -> None:
    """Real-OPA tests: mandatory in CI (where ../shared/bin is present), skipped elsewhere."""
    if not opa_available():
        if os.environ.get("CI"):
            pytest.fail("opa is not on PATH in CI")
        pytest.skip("no opa on PATH")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline means offline: any socket connection or name lookup fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
