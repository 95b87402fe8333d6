"""Helpers for the gate E/G tests: build a dataset with the fixture builder, run one gate.

Datasets come from `fixtures/build.py` (so every digest is consistent except what a test
breaks on purpose), and gates run on a `GateContext` built the way the pipeline builds it,
so a gate E test does not depend on the other gates or on the policy.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tests_support import fixture_builder

from promote_action.digests import Workspace
from promote_action.gates import e_receipts, g_supply_chain
from promote_action.gates.base import GateContext, GateResult, Options
from promote_action.pipeline import precompute_artifact_digests
from promote_action.spec import find_spec, load_spec

REPO = Path(__file__).resolve().parents[2]
RECEIPT = "receipts/build.json"


def builder() -> ModuleType:
    return fixture_builder()


@functools.cache
def case_module(gate: str) -> ModuleType:
    path = REPO / "fixtures" / "cases" / f"gate_{gate}.py"
    spec = importlib.util.spec_from_file_location(f"kfm_fixture_eg_{gate}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(out: Path, mutate: Callable[[Any], None] | None = None) -> Path:
    """Write the reference dataset (optionally mutated like a fixture case) to `out`."""
    ds = builder().base_dataset()
    if mutate is not None:
        mutate(ds)
    ds.write(out)
    return out


def after_seal(edit: Callable[[Any], None]) -> Callable[[Any], None]:
    """A mutation that edits the sealed dataset (to break a digest on purpose)."""
    return lambda ds: ds.post.append(edit)


def context(dataset: Path, options: Options | None = None) -> GateContext:
    spec_file = find_spec(dataset)
    spec = load_spec(spec_file, display=spec_file.name)
    ctx = GateContext(
        workspace=Workspace(dataset), spec=spec.data, spec_path=spec_file.name,
        spec_doc=spec.doc, spec_hash=spec.identity.spec_hash,
        dataset_version_id=spec.identity.dataset_version_id, options=options or Options())
    precompute_artifact_digests(ctx)
    return ctx


def gate_e(dataset: Path) -> GateResult:
    return e_receipts.check(context(dataset))


def gate_g(dataset: Path, options: Options | None = None) -> GateResult:
    return g_supply_chain.check(context(dataset, options))


def codes(res: GateResult) -> set[str]:
    return {r.code for r in res.reasons}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")
