"""Two ways to evaluate the same policy bundle: the real `opa` binary, or regorus in-process.

Why two: in a GitHub workflow `open-policy-agent/setup-opa` provides the reference engine;
on a laptop or in pre-commit there may be none, and the embedded engine keeps the tool
usable. The embedded engine was chosen by measured parity with OPA (see README), and the
parity tests hold both to identical decisions.

Both return the raw decision document or raise `EngineFailure`; turning a failure into a
fail-closed deny is the caller's job (`policy/decision.py`), so no engine can allow by
accident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Protocol

from promote_action.errors import EngineUnavailableError, PolicyLoadError
from promote_action.policy.bundle import PolicyBundle

QUERY = "data.kfm.promote.decision"
OPA_TIMEOUT_S = float(os.environ.get("KFM_OPA_TIMEOUT", "30"))


class EngineFailure(Exception):
    """The engine ran but produced no usable decision (error, timeout, undefined, garbage)."""


class Engine(Protocol):
    name: str

    def evaluate(self, bundle: PolicyBundle, capsule: dict[str, Any]) -> Any: ...


def _write_bundle(bundle: PolicyBundle, into: Path) -> None:
    for display, src in bundle.modules.items():
        target = into / display.replace(":", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(src, encoding="utf-8")
    (into / "data.json").write_text(json.dumps(bundle.data), encoding="utf-8")


class OpaEngine:
    """`opa eval --format json` with the capsule on stdin."""

    name = "opa"

    def __init__(self, binary: str | None = None):
        found = binary or shutil.which("opa")
        if not found:
            raise EngineUnavailableError(
                "--engine opa: no `opa` on PATH (install it, e.g. with "
                "open-policy-agent/setup-opa, or use --engine embedded)")
        self.binary = found

    def evaluate(self, bundle: PolicyBundle, capsule: dict[str, Any]) -> Any:
        with tempfile.TemporaryDirectory(prefix="kfm-opa-") as tmp:
            _write_bundle(bundle, Path(tmp))
            cmd = [self.binary, "eval", "--format", "json", "-d", tmp, "--stdin-input", QUERY]
            try:
                proc = subprocess.run(cmd, input=json.dumps(capsule), capture_output=True,
                                      text=True, timeout=OPA_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired as e:
                raise EngineFailure(f"opa eval timed out after {OPA_TIMEOUT_S:g}s") from e
            except OSError as e:
                raise EngineFailure(f"cannot run opa: {e}") from e
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip()
            compile_error = _compile_error(detail, bundle)
            if compile_error:
                raise compile_error
            raise EngineFailure(f"opa eval exited {proc.returncode}: {detail[:500]}")
        try:
            out = json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            raise EngineFailure("opa eval printed malformed JSON") from e
        return _first_value(out)


class EmbeddedEngine:
    """regorus (Rust Rego interpreter) in-process: no subprocess, no binary to install."""

    name = "embedded"

    def evaluate(self, bundle: PolicyBundle, capsule: dict[str, Any]) -> Any:
        try:
            import regorus
        except ImportError as e:  # pragma: no cover - a broken install
            raise EngineUnavailableError("embedded engine (regorus) is not installed") from e
        engine = regorus.Engine()
        for display, src in bundle.modules.items():
            try:
                engine.add_policy(display, src)
            except (RuntimeError, ValueError) as e:
                raise PolicyLoadError(_one_line(str(e)), file=display) from e
        try:
            engine.add_data(bundle.data)
            engine.set_input(capsule)
            raw = engine.eval_query_as_json(QUERY)
        except (RuntimeError, ValueError) as e:
            raise EngineFailure(f"embedded engine error: {_one_line(str(e))}") from e
        try:
            return _first_value(json.loads(raw))
        except json.JSONDecodeError as e:
            raise EngineFailure("embedded engine returned malformed JSON") from e


def _first_value(out: Any) -> Any:
    try:
        results = out.get("result") or []
        if not results:
            raise EngineFailure(f"{QUERY} is undefined")
        return results[0]["expressions"][0]["value"]
    except (AttributeError, KeyError, IndexError, TypeError) as e:
        raise EngineFailure("engine output has an unexpected shape") from e


def _compile_error(detail: str, bundle: PolicyBundle) -> PolicyLoadError | None:
    if "rego_parse_error" not in detail and "rego_compile_error" not in detail \
            and "rego_type_error" not in detail:
        return None
    try:
        errs = json.loads(detail).get("errors", [])
        first = errs[0]
        loc = first.get("location", {})
        fname = str(loc.get("file", ""))
        for display in bundle.modules:
            if fname.endswith(display.replace(":", "/")):
                fname = display
        return PolicyLoadError(f"line {loc.get('row', '?')}: {first.get('message', '')}",
                               file=fname or None)
    except (json.JSONDecodeError, AttributeError, IndexError, TypeError):
        return PolicyLoadError(_one_line(detail)[:300])


def _one_line(s: str) -> str:
    return " ".join(s.split())


def select_engine(name: str) -> Engine:
    """`auto` prefers the real OPA when it is on PATH, else the embedded engine."""
    if name == "opa":
        return OpaEngine()
    if name == "embedded":
        return EmbeddedEngine()
    if name == "auto":
        return OpaEngine() if shutil.which("opa") else EmbeddedEngine()
    raise EngineUnavailableError(f"unknown engine {name!r} (auto, opa, embedded)")
