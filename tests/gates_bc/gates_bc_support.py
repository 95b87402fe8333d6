"""Helpers for the gate B/C tests: run one gate on a dataset directory.

Gates are exercised directly on a `GateContext` built the way the pipeline builds it,
so a test that targets gate B does not depend on the other gates; end-to-end tests use
`validate` through the CLI.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType
from typing import Any

from tests_support import fixture_builder

from promote_action.gates import b_license, c_sensitivity
from promote_action.gates.base import GateContext, GateResult
from promote_action.pipeline import precompute_artifact_digests
from promote_action.policy.bundle import load_bundle
from promote_action.spec import find_spec, load_spec

REPO = Path(__file__).resolve().parents[2]


@functools.cache
def policy_data() -> dict[str, Any]:
    return load_bundle([]).data


def context(dataset: Path, data: dict[str, Any] | None = None) -> GateContext:
    spec_file = find_spec(dataset)
    spec = load_spec(spec_file, display=spec_file.name)
    from promote_action.digests import Workspace

    ctx = GateContext(
        workspace=Workspace(dataset), spec=spec.data, spec_path=spec_file.name,
        spec_doc=spec.doc, spec_hash=spec.identity.spec_hash,
        dataset_version_id=spec.identity.dataset_version_id,
        policy_data=policy_data() if data is None else data)
    precompute_artifact_digests(ctx)
    return ctx


def gate_b(dataset: Path) -> GateResult:
    return b_license.check(context(dataset))


def gate_c(dataset: Path) -> GateResult:
    return c_sensitivity.check(context(dataset))


def codes(res: GateResult) -> set[str]:
    return {r.code for r in res.reasons}


def build_module() -> ModuleType:
    return fixture_builder()


@functools.cache
def cases() -> dict[str, Any]:
    return build_module().load_cases()  # type: ignore[no-any-return]


def write_case(name: str, out: Path) -> Path:
    """Build one fixture case (pass dataset name or fail case name) into `out`."""
    mod = build_module()
    all_cases = cases()
    if name in all_cases:
        factory, mutate = all_cases[name]
        ds = factory()
        mutate(ds)
    else:
        ds = mod.PASS[name]()
    ds.write(out)
    return out


def read_yaml(path: Path) -> Any:
    from promote_action.safeload import load_document

    return load_document(path, display=path.name).data


def write_yaml(path: Path, value: Any) -> None:
    path.write_bytes(build_module().dump_yaml(value))
