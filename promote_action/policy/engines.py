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
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Protocol

from promote_action.errors import EngineUnavailableError, PolicyLoadError
from promote_action.policy.bundle import PolicyBundle
from promote_action.spec import canonical_digest

QUERY = "data.kfm.promote.decision"
OPA_TIMEOUT_S = 30.0


class EngineFailure(Exception):
    """The engine ran but produced no usable decision (error, timeout, undefined, garbage)."""


class Engine(Protocol):
    name: str

    def evaluate(self, bundle: PolicyBundle, capsule: dict[str, Any]) -> Any: ...


def write_bundle(bundle: PolicyBundle, into: Path) -> None:
    """Write modules and the merged data document where `opa -d DIR` will read them."""
    for display, src in bundle.modules.items():
        target = into / display.replace(":", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(src, encoding="utf-8")
    (into / "data.json").write_text(json.dumps(bundle.data), encoding="utf-8")


def opa_timeout() -> float:
    """Seconds before an `opa` subprocess is killed (KFM_OPA_TIMEOUT), read per call."""
    try:
        value = float(os.environ.get("KFM_OPA_TIMEOUT", str(OPA_TIMEOUT_S)))
    except ValueError:
        return OPA_TIMEOUT_S
    return value if value > 0 else OPA_TIMEOUT_S


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
        return self.query(bundle, capsule, QUERY)

    def query(self, bundle: PolicyBundle, input_doc: Any, query: str) -> Any:
        """One fresh `opa eval` process; the value of `query`, or `EngineFailure`."""
        timeout = opa_timeout()
        with tempfile.TemporaryDirectory(prefix="kfm-opa-") as tmp:
            write_bundle(bundle, Path(tmp))
            cmd = [self.binary, "eval", "--format", "json", "-d", tmp, "--stdin-input", query]
            try:
                proc = subprocess.run(cmd, input=json.dumps(input_doc), capture_output=True,
                                      text=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired as e:
                raise EngineFailure(f"opa eval timed out after {timeout:g}s") from e
            except OSError as e:
                raise EngineFailure(f"cannot run opa: {e}") from e
            detail = (proc.stderr + proc.stdout).replace(tmp + "/", "").strip()
        if proc.returncode != 0:
            compile_error = load_error(detail, bundle)
            if compile_error:
                raise compile_error
            raise EngineFailure(f"opa eval exited {proc.returncode}: {one_line(detail)[:500]}")
        try:
            out = json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            raise EngineFailure("opa eval printed malformed JSON") from e
        return _first_value(out, query)


class EmbeddedEngine:
    """regorus (Rust Rego interpreter) in-process: no subprocess, no binary to install."""

    name = "embedded"

    def evaluate(self, bundle: PolicyBundle, capsule: dict[str, Any]) -> Any:
        try:
            import regorus  # type: ignore[import-untyped]
        except ImportError as e:  # pragma: no cover - a broken install
            raise EngineUnavailableError("embedded engine (regorus) is not installed") from e
        engine = self._prepared(bundle, regorus).clone()
        try:
            engine.set_input(capsule)
            raw = engine.eval_query_as_json(QUERY)
        except (RuntimeError, ValueError) as e:
            raise EngineFailure(f"embedded engine error: {_regorus_message(e)}") from e
        try:
            return _first_value(json.loads(raw), QUERY)
        except json.JSONDecodeError as e:
            raise EngineFailure("embedded engine returned malformed JSON") from e

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def _prepared(self, bundle: PolicyBundle, regorus: Any) -> Any:
        """Parse the bundle once per engine object; every decision runs on a clone, so no
        state (input, caches) carries from one evaluation to the next."""
        key = canonical_digest({"modules": bundle.modules, "data": bundle.data})
        if key not in self._cache:
            engine = regorus.Engine()
            self.load_into(engine, bundle)
            self._cache = {key: engine}
        return self._cache[key]

    @staticmethod
    def load_into(engine: Any, bundle: PolicyBundle) -> None:
        """Add modules and data; a module that does not parse is a PolicyLoadError (exit 2)
        naming the file and line, as `opa` would."""
        for display, src in bundle.modules.items():
            try:
                engine.add_policy(display, src)
            except (RuntimeError, ValueError) as e:
                msg = _regorus_message(e)
                m = re.search(r"--> (\S+?):(\d+):(\d+)", str(e))
                where = f"line {m.group(2)}: " if m else ""
                raise PolicyLoadError(f"{where}{_regorus_error_line(str(e)) or msg}",
                                      file=bundle.paths.get(display, display)) from e
        try:
            engine.add_data(bundle.data)
        except (RuntimeError, ValueError) as e:
            raise PolicyLoadError(f"policy data rejected: {_regorus_message(e)}") from e


def _regorus_message(e: BaseException) -> str:
    """regorus errors carry a source excerpt and a native backtrace: keep the message."""
    return one_line(str(e).split("Stack backtrace")[0])[:500]


def _regorus_error_line(text: str) -> str:
    m = re.search(r"^error: (.+)$", text, re.M)
    return m.group(1).strip() if m else ""


def _first_value(out: Any, query: str = QUERY) -> Any:
    try:
        results = out.get("result") or []
        if not results:
            raise EngineFailure(f"{query} is undefined")
        return results[0]["expressions"][0]["value"]
    except (AttributeError, KeyError, IndexError, TypeError) as e:
        raise EngineFailure("engine output has an unexpected shape") from e


_OPA_LOCATION = re.compile(r"(?P<file>[^\s:]+\.rego):(?P<row>\d+)(?::\d+)?: (?P<msg>.*)")


def load_error(detail: str, bundle: PolicyBundle) -> PolicyLoadError | None:
    """A parse/compile error from `opa` as a PolicyLoadError naming the module and line.

    Real `opa` reports `errors[].location.{file,row}`; other builds put `file:row:` in the
    message. Either way the temp-dir path is mapped back to the bundle's display name.
    """
    if not any(k in detail for k in ("rego_parse_error", "rego_compile_error",
                                     "rego_type_error", "rego_recursion_error",
                                     "rego_unsafe_var_error")):
        return None
    fname, row, message = "", "?", one_line(detail)[:300]
    try:
        first = json.loads(detail).get("errors", [])[0]
        loc = first.get("location") or {}
        fname, row = str(loc.get("file", "")), str(loc.get("row", "?"))
        message = one_line(str(first.get("message", "")))
    except (json.JSONDecodeError, AttributeError, IndexError, TypeError):
        pass
    m = _OPA_LOCATION.search(message) if not fname else None
    if m:
        fname, row, message = m.group("file"), m.group("row"), m.group("msg")
    for display in bundle.modules:
        if fname and fname.endswith(display.replace(":", "/")):
            fname = bundle.paths.get(display, display)
    return PolicyLoadError(f"line {row}: {message}", file=fname or None)


def one_line(s: str) -> str:
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
