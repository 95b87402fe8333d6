"""Run Rego unit tests (`test_*` rules) on either engine, reporting like `opa test`.

Users without the `opa` binary (a laptop, pre-commit) must still be able to test the
policy they add with `--policy DIR`, on the same bundle the product evaluates: the
built-in policy plus their directories, merged the same way. With `opa` we shell out to
`opa test` on that bundle written to a temp dir; embedded, each `data.<pkg>.test_x` is
evaluated in regorus and passes only when it is literally `true` (undefined fails, as in
`opa test`).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from promote_action.errors import PolicyLoadError
from promote_action.policy.bundle import PolicyBundle
from promote_action.policy.engines import (
    OPA_TIMEOUT_S,
    EmbeddedEngine,
    OpaEngine,
    load_error,
    one_line,
    write_bundle,
)

_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.M)
_PACKAGE = re.compile(r"^package\s+([A-Za-z0-9_.]+)", re.M)


@dataclass(frozen=True)
class TestCase:
    module: str  # bundle display path, e.g. builtin:labels_test.rego
    ref: str  # data.<package>.<rule>
    passed: bool
    detail: str = ""


@dataclass
class TestRun:
    engine: str
    cases: list[TestCase] = field(default_factory=list)
    output: str = ""  # opa's own output when it ran the tests

    @property
    def failed(self) -> list[TestCase]:
        return [c for c in self.cases if not c.passed]

    def render(self, verbose: bool = False) -> str:
        if self.output:
            return self.output
        lines = []
        for c in self.cases:
            if verbose or not c.passed:
                status = "PASS" if c.passed else "FAIL" + (f" ({c.detail})" if c.detail else "")
                lines.append(f"{c.module}:\n{c.ref}: {status}")
        total, bad = len(self.cases), len(self.failed)
        lines.append("-" * 80)
        lines.append(f"PASS: {total - bad}/{total}")
        if bad:
            lines.append(f"FAIL: {bad}/{total}")
        return "\n".join(lines) + "\n"


def discover(bundle: PolicyBundle) -> list[tuple[str, str]]:
    """(module, data ref) for every `test_*` rule, in module order, once each."""
    out: list[tuple[str, str]] = []
    for display, src in bundle.modules.items():
        pkg = _PACKAGE.search(src)
        if not pkg:
            continue
        for name in dict.fromkeys(_TEST_RULE.findall(src)):
            out.append((display, f"data.{pkg.group(1)}.{name}"))
    return out


def run_embedded(bundle: PolicyBundle) -> TestRun:
    """Evaluate every test rule in regorus; a policy that does not load raises (exit 2)."""
    import regorus  # type: ignore[import-untyped]

    engine = regorus.Engine()
    EmbeddedEngine.load_into(engine, bundle)
    run = TestRun("embedded")
    for module, ref in discover(bundle):
        try:
            value = _value(json.loads(engine.eval_query_as_json(f"{ref} == true")))
            run.cases.append(TestCase(module, ref, value is True))
        except (RuntimeError, ValueError) as e:
            run.cases.append(TestCase(module, ref, False, one_line(str(e)).split(
                " Stack backtrace")[0][:300]))
    return run


def _value(out: object) -> object:
    results = out.get("result") if isinstance(out, dict) else None
    if not results:
        return None
    return results[0]["expressions"][0]["value"]


def run_opa(bundle: PolicyBundle, *, verbose: bool = False) -> TestRun:
    """`opa test` on the same merged bundle; exit 2 from opa = failures, 1 = load error."""
    binary = OpaEngine().binary
    with tempfile.TemporaryDirectory(prefix="kfm-opa-test-") as tmp:
        write_bundle(bundle, Path(tmp))
        cmd = [binary, "test", *(["-v"] if verbose else []), tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                  timeout=max(OPA_TIMEOUT_S, 120))
        except (subprocess.TimeoutExpired, OSError) as e:
            raise PolicyLoadError(f"opa test did not complete: {e}") from e
    text = (proc.stdout + proc.stderr).replace(tmp + "/", "").replace(tmp, ".")
    if proc.returncode not in (0, 2):
        raise load_error(text, bundle) or PolicyLoadError(one_line(text)[:300])
    run = TestRun("opa", output=text if text.endswith("\n") else text + "\n")
    failing = set(re.findall(r"^(data\.[A-Za-z0-9_.]+): FAIL", text, re.M))
    for module, ref in discover(bundle):
        run.cases.append(TestCase(module, ref, ref not in failing))
    if proc.returncode == 2 and not failing:  # opa failed but we could not tell which
        run.cases.append(TestCase("", "opa test", False, one_line(text)[:300]))
    return run
