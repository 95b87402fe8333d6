"""Why regorus: measured parity of candidate embedded Rego engines with real OPA.

Evaluates a set of small probe policies (the constructs the product policy relies on,
plus the two divergences reported for regopy in issue 4) and the product policy on the
fixture capsule, on `opa eval` (the reference), regorus (`gordon-to-regorus`, pinned in
pyproject) and regopy (rego-cpp) if it is installed (`pip install regopy==1.5.2`; it is
not a product dependency). Prints one line per probe and engine: `=` identical to OPA,
`!` different (with the value). Exit 1 when regorus differs from OPA anywhere.

    python bench/engine_parity.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROBES: dict[str, tuple[str, Any]] = {
    "default false, rule not firing": (
        "package p\n\ndefault allow := false\n\nallow if input.x == 1\n", {"x": 2}),
    "sprintf %s of lower()": (
        'package p\n\nallow := sprintf("%s", [lower(input.s)])\n', {"s": "ABC"}),
    "sprintf in a set-rule message": (
        'package p\n\nallow contains sprintf("label %s", [lower(x)]) if { some x in input.xs }\n',
        {"xs": ["PUBLIC"]}),
    "partial set of objects": (
        'package p\n\nallow contains {"c": x} if { some x in input.xs }\n', {"xs": [2, 1, 2]}),
    "every / in / object.get": (
        "package p\n\nallow if {\n\tevery x in input.xs { x in object.get(input, \"ok\", []) }"
        "\n}\n", {"xs": [1], "ok": [1, 2]}),
    "function with else": (
        'package p\n\nf(x) := x if is_string(x)\nelse := "none"\n\nallow := [f(null), f("a")]\n',
        {}),
    "json.patch + with input": (
        'package p\n\nq := input.a\n\nallow := v if {\n\tc := json.patch({"a": 1}, [{"op": '
        '"replace", "path": "/a", "value": 2}])\n\tv := q with input as c\n}\n', {}),
}


def _opa(src: str, input_doc: Any, query: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "p.rego").write_text(src)
        proc = subprocess.run(["opa", "eval", "-f", "json", "-d", tmp, "--stdin-input", query],
                              input=json.dumps(input_doc), capture_output=True, text=True,
                              check=False)
    out = json.loads(proc.stdout or "{}")
    return out["result"][0]["expressions"][0]["value"] if out.get("result") else "<undefined>"


def _regorus(src: str, input_doc: Any, query: str) -> Any:
    import regorus

    e = regorus.Engine()
    e.add_policy("p.rego", src)
    e.set_input(input_doc)
    out = json.loads(e.eval_query_as_json(query))
    return out["result"][0]["expressions"][0]["value"] if out.get("result") else "<undefined>"


def _regopy(src: str, input_doc: Any, query: str) -> Any:
    import regopy

    i = regopy.Interpreter()
    i.add_module("p.rego", src)
    i.set_input_term(json.dumps(input_doc))
    out = i.query(query)
    text = str(out)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return f"<invalid JSON: {text[:60]!r}>"
    try:  # regopy prints {"expressions": [value]} per result
        return doc["expressions"][0]
    except (KeyError, IndexError, TypeError):
        return f"<undefined: {text[:60]!r}>"


def _regopy_product(ev: Any) -> str:
    """The product policy on regopy, in a child process: rego-cpp may crash the process."""
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"modules": ev.bundle.modules, "data": ev.bundle.data,
                                   "input": ev.capsule, "want": ev.decision.result_json()}))
        proc = subprocess.run([sys.executable, __file__, "--regopy-child", str(job)],
                              capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode < 0:
        return f"crashed (signal {-proc.returncode})"
    return (proc.stdout or proc.stderr).strip()[:160]


def _regopy_child(job_path: str) -> int:
    import regopy

    job = json.loads(Path(job_path).read_text())
    i = regopy.Interpreter()
    try:
        for name, src in job["modules"].items():
            i.add_module(name, src)
        i.add_data_json(json.dumps(job["data"]))
        i.set_input_term(json.dumps(job["input"]))
        text = str(i.query("data.kfm.promote.decision"))
        value = json.loads(text)["expressions"][0]
    except Exception as e:
        print(f"error/undefined: {' '.join(str(e).split())[:80]}")
        return 0
    got = {k: value.get(k) for k in job["want"]} if isinstance(value, dict) else value
    same = json.dumps(got, sort_keys=True) == json.dumps(job["want"], sort_keys=True)
    print("= opa" if same else f"! {json.dumps(got)[:120]}")
    return 0


def main() -> int:
    if not shutil.which("opa"):
        print("needs `opa` on PATH")
        return 1
    engines = {"regorus": _regorus}
    try:
        import regopy  # noqa: F401

        engines["regopy"] = _regopy
    except ImportError:
        print("regopy not installed: `pip install regopy==1.5.2` to include it")
    bad = 0
    for name, (src, inp) in PROBES.items():
        want = _opa(src, inp, "data.p.allow")
        line = [f"{name:<34} opa={json.dumps(want)}"]
        for ename, fn in engines.items():
            t0 = time.perf_counter()
            try:
                got = fn(src, inp, "data.p.allow")
            except Exception as e:
                got = f"<error: {' '.join(str(e).split())[:60]}>"
            ms = (time.perf_counter() - t0) * 1000
            same = json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
            line.append(f"{ename}{'=' if same else '!'}{'' if same else json.dumps(got)}"
                        f" ({ms:.1f} ms)")
            bad += ename == "regorus" and not same
        print("  ".join(line))
    from promote_action.pipeline import evaluate_dataset

    ev = evaluate_dataset(REPO / "fixtures/pass/kansas_river_gauges",
                          policy_dirs=[REPO / "fixtures/policy"], engine="opa")
    ev2 = evaluate_dataset(REPO / "fixtures/pass/kansas_river_gauges",
                           policy_dirs=[REPO / "fixtures/policy"], engine="embedded")
    same = ev.decision.decision_id == ev2.decision.decision_id
    print(f"product policy on the fixture capsule: regorus {'=' if same else '!'} opa")
    if "regopy" in engines:
        print(f"product policy on the fixture capsule: regopy -> {_regopy_product(ev)}")
    return 1 if bad or not same else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--regopy-child":
        sys.exit(_regopy_child(sys.argv[2]))
    sys.exit(main())
