"""Build, run and judge one hostile-input case (see tests/hostile/README.md).

A case is a directory `cases/<category>/<name>/` holding `case.json` (what to break, how
to run the CLI, what must come out) and optionally a `policy/` directory (a user policy
passed with `--policy`). The dataset is always a fresh copy of the reference passing
fixture with the case's operations applied, so each case differs from a passing dataset
by exactly the hostile change it describes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
REPO = HERE.parents[1]
PASS_FIXTURE = REPO / "fixtures" / "pass" / "kansas_river_gauges"
MEMORY_LIMIT = 1536 * 1024 * 1024
HANG_TIMEOUT_S = 20.0
# CPU seconds (child + grandchildren) is the budget that a hostile input must not blow;
# wall time is also bounded, more loosely, because CI shares 2 cores among test workers.
CPU_LIMIT_S = float(os.environ.get("KFM_HOSTILE_CPU_LIMIT", "2.0"))
WALL_LIMIT_S = float(os.environ.get("KFM_HOSTILE_WALL_LIMIT", "6.0"))


def wall_limit(base: float) -> float:
    """The wall-clock bound for a case whose unloaded bound is `base`.

    CPU seconds are the budget a hostile input must not blow; wall time only catches a
    run that waits instead of working (an engine timeout not enforced). On 2 cores shared
    with other test workers and act runs, wall time also measures the run queue, so the
    bound grows with the one-minute load per core. It stays below HANG_TIMEOUT_S, where
    the harness kills a run that never returns, so a real hang still fails.
    """
    per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    return min(base * max(1.0, per_core), HANG_TIMEOUT_S * 0.75)
SECRET = "KFM-HOSTILE-SECRET-do-not-read"


@dataclass
class Case:
    name: str
    category: str
    meta: dict[str, Any]
    root: Path | None  # committed case directory (None for generated cases)

    @property
    def id(self) -> str:
        return f"{self.category}/{self.name}"


def load_cases() -> list[Case]:
    out = []
    for meta_path in sorted(CASES.glob("*/*/case.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        out.append(Case(meta_path.parent.name, meta_path.parent.parent.name, meta,
                        meta_path.parent))
    return out


@dataclass
class Sandbox:
    """Everything a case run may touch, under one tmp dir (so one snapshot covers it)."""

    top: Path
    ds: Path  # the dataset directory (workspace)
    outside: Path  # files beside the workspace that must never be read through it
    cwd: Path  # the child's working directory: must stay empty
    tmp: Path  # the child's TMPDIR: must be left as found
    env: dict[str, str] = field(default_factory=dict)  # extra child environment

    @classmethod
    def create(cls, top: Path, base: Path = PASS_FIXTURE) -> Sandbox:
        box = cls(top, top / "ws" / "kansas_river_gauges", top / "outside", top / "cwd",
                  top / "tmp")
        shutil.copytree(base, box.ds)
        for d in (box.outside, box.cwd, box.tmp):
            d.mkdir(parents=True)
        (box.outside / "secret.txt").write_text(SECRET + "\n")
        shutil.copy(box.ds / "spec.yaml", box.outside / "spec.yaml")
        shutil.copy(box.ds / "processed" / "gauges.csv", box.outside / "gauges.csv")
        shutil.copytree(box.ds / "processed", box.outside / "processed")
        return box

    def expand(self, text: str) -> str:
        return (text.replace("{ds}", str(self.ds)).replace("{outside}", str(self.outside))
                .replace("{top}", str(self.top)))


# --- applying a case's operations ---------------------------------------------------------


def _spec_data(box: Sandbox) -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load((box.ds / "spec.yaml").read_text())  # type: ignore[no-any-return]


def _write_spec(box: Sandbox, data: dict[str, Any]) -> None:
    # JSON is YAML 1.2: written this way every escape (\u202e, \ud800) reaches the loader
    # exactly as the case spells it, with one key per line for line numbers.
    (box.ds / "spec.yaml").write_text(json.dumps(data, indent=2, ensure_ascii=True) + "\n")


def _walk(doc: Any, pointer: str) -> tuple[Any, str | int]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = doc
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last: str | int = int(parts[-1]) if isinstance(node, list) and parts[-1] != "-" else parts[-1]
    return node, last


def _set(doc: Any, pointer: str, value: Any) -> None:
    node, last = _walk(doc, pointer)
    if isinstance(node, list) and last == "-":
        node.append(value)
    else:
        node[last] = value


def apply_ops(box: Sandbox, ops: list[dict[str, Any]]) -> None:
    for raw in ops:
        op = json.loads(box.expand(json.dumps(raw)))  # {top}/{outside} in any value
        kind = op["op"]
        target = box.ds / op["path"] if "path" in op else None
        if kind in ("spec_set", "spec_del"):
            data = _spec_data(box)
            if kind == "spec_set":
                _set(data, op["pointer"], copy.deepcopy(op["value"]))
            else:
                node, last = _walk(data, op["pointer"])
                del node[last]  # type: ignore[arg-type]
            _write_spec(box, data)
        elif kind == "json_set":
            assert target is not None
            doc = json.loads(target.read_text())
            _set(doc, op["pointer"], copy.deepcopy(op["value"]))
            target.write_text(json.dumps(doc, indent=2) + "\n")
        elif kind == "write":
            assert target is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(op["text"].encode("utf-8", "surrogatepass"))
        elif kind == "write_bytes":  # bytes spelled as latin-1 code points in case.json
            assert target is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(op["latin1"].encode("latin-1"))
        elif kind == "replace":
            assert target is not None
            text = target.read_text()
            assert op["old"] in text, f"{op['old']!r} not in {op['path']}"
            target.write_text(text.replace(op["old"], op["new"], op.get("count", -1)))
        elif kind == "append_text":
            assert target is not None
            with open(target, "ab") as fh:
                fh.write(op["text"].encode())
        elif kind == "append_bytes":
            assert target is not None
            with open(target, "ab") as fh:
                fh.write(op["latin1"].encode("latin-1"))
        elif kind == "prepend_bytes":
            assert target is not None
            target.write_bytes(op["latin1"].encode("latin-1") + target.read_bytes())
        elif kind == "symlink":
            assert target is not None
            if target.exists() or target.is_symlink():
                target.unlink() if not target.is_dir() or target.is_symlink() \
                    else shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(box.expand(op["target"]), target)
        elif kind == "delete":
            assert target is not None
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        elif kind == "mkfifo":
            assert target is not None
            target.unlink(missing_ok=True)
            os.mkfifo(target)
        elif kind == "to_json_spec":
            data = _spec_data(box)
            (box.ds / "spec.yaml").unlink()
            (box.ds / "spec.json").write_text(json.dumps(data, indent=2) + "\n")
        elif kind == "generate":
            from make_corpus import GENERATORS  # type: ignore[import-not-found]

            GENERATORS[op["name"]](box)
        else:
            raise AssertionError(f"unknown op {kind!r}")


# --- snapshot -------------------------------------------------------------------------------


def snapshot(top: Path) -> dict[str, tuple[Any, ...]]:
    """Paths + type + size + mtime + sha256 (+ link target) of everything under `top`."""
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = p.relative_to(top).as_posix()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_size, st.st_mtime_ns,
                            hashlib.sha256(p.read_bytes()).hexdigest())
            elif stat.S_ISDIR(st.st_mode):  # entries are compared, not the dir's mtime
                out[rel] = ("dir",)
            else:  # FIFOs and the like: never opened
                out[rel] = ("other", stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return out


# --- running --------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str
    wall: float
    cpu: float


def child_limits() -> None:
    """Bound committed memory, not address space: the Go OPA engine (a grandchild when the
    engine is `opa`) reserves large PROT_NONE regions, and under RLIMIT_AS it aborted at
    random (1 run in 12 at 1 GiB, once in CI at 1.5 GiB), which the product rightly turns
    into F.engine_error. RLIMIT_DATA counts private writable memory only, so an alias
    bomb or a huge scalar in our own process still hits it."""
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _fake_bin(box: Sandbox, meta: dict[str, Any]) -> dict[str, str]:
    """PATH for the child: without `opa` at all, or with a fake `opa` that hangs."""
    env: dict[str, str] = {}
    fake = meta.get("opa")
    if fake is None:
        return env
    bindir = box.top / "bin"
    bindir.mkdir()
    if fake == "hang":
        script = bindir / "opa"
        script.write_text("#!/bin/sh\nexec sleep 30\n")
        script.chmod(0o755)
    env["PATH"] = f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    return env


def run_case(box: Sandbox, case: Case) -> Run:
    meta = case.meta
    argv = [sys.executable, "-m", "promote_action", meta.get("command", "validate")]
    argv += ["--spec", box.expand(meta.get("spec", "{ds}")),
             "--format", meta.get("format", "json")]
    if (box.top / "policy").is_dir():
        argv += ["--policy", str(box.top / "policy")]
    argv += [box.expand(a) for a in meta.get("args", [])]
    if "--engine" not in argv:  # loader cases: the in-process engine keeps the corpus fast
        argv += ["--engine", meta.get("engine", "embedded")]
    # HOME is left alone: the CI `opa` shim keeps its compiled engine under ~/.cache.
    env = {**os.environ, "TMPDIR": str(box.tmp),
           "PYTHONPATH": str(REPO), **{k: box.expand(v) for k, v in meta.get("env", {}).items()}}
    env.pop("KFM_DEBUG", None)
    env.update(box.env)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=box.cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=HANG_TIMEOUT_S,
                          preexec_fn=child_limits, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return Run(proc.returncode, proc.stdout, proc.stderr, wall, cpu)


def stable_copy(dst: Path) -> Path:
    """Copy the pass fixture once per session; retried because `fixtures/build.py`
    rewrites it in place (rmtree + write) when someone regenerates fixtures."""
    for attempt in range(20):
        try:
            shutil.copytree(PASS_FIXTURE, dst)
            return dst
        except (FileNotFoundError, shutil.Error):
            shutil.rmtree(dst, ignore_errors=True)
            time.sleep(0.25 * (attempt + 1))
    raise AssertionError(f"could not copy {PASS_FIXTURE}")


def prepare(top: Path, case: Case, base: Path = PASS_FIXTURE) -> Sandbox:
    box = Sandbox.create(top, base)
    apply_ops(box, case.meta.get("ops", []))
    if case.root is not None and (case.root / "policy").is_dir():
        shutil.copytree(case.root / "policy", box.top / "policy")
    box.env = _fake_bin(box, case.meta)
    return box
