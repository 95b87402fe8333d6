"""Shared helpers for the policy tests: capsules from fixture datasets, engines, runs.

Capsules are built by the pipeline's own steps (same order as `evaluate_dataset`), so
the parity tests judge exactly what the product sends to the policy. A gate module that
is not written yet reports `not_run` here (the policy then denies with F.gate_missing)
instead of crashing the whole parity test.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promote_action.digests import Workspace
from promote_action.evidence import resolve_evidence
from promote_action.gates import GATE_MODULES
from promote_action.gates.base import GateContext, GateResult, Options, Status
from promote_action.pipeline import precompute_artifact_digests
from promote_action.policy.bundle import PolicyBundle
from promote_action.policy.capsule import Approval, build_capsule
from promote_action.policy.engines import OpaEngine
from promote_action.quarantine import quarantine_state
from promote_action.schemas import require_valid
from promote_action.spec import find_spec, load_spec

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
DEMO_POLICY = FIXTURES / "policy"
STEWARD = Approval("steward", "github:kfm-steward", "2026-03-01T12:00:00Z")
BATCH_QUERY = ("[d | some c in input.capsules; "
               "d := data.kfm.promote.decision with input as c]")


def fixture_datasets() -> list[Path]:
    """Every pass and fail fixture dataset present now (others are still adding them)."""
    return sorted(p for kind in ("pass", "fail") for p in (FIXTURES / kind).glob("*")
                  if p.is_dir() and any((p / n).exists() for n in ("spec.yaml", "spec.json")))


def capsule_for(dataset: Path, bundle: PolicyBundle, *, stage: str = "check",
                approvals: Sequence[Approval] = (), destinations: Sequence[str] = ()
                ) -> dict[str, Any]:
    spec_file = find_spec(dataset)
    ws = Workspace(dataset)
    spec = load_spec(spec_file, display=spec_file.name)
    ctx = GateContext(workspace=ws, spec=spec.data, spec_path=spec_file.name,
                      spec_doc=spec.doc, spec_hash=spec.identity.spec_hash,
                      dataset_version_id=spec.identity.dataset_version_id,
                      options=Options(), policy_data=bundle.data)
    precompute_artifact_digests(ctx)
    results = []
    for gate_id, module_name in GATE_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            results.append(GateResult(gate_id, Status.NOT_RUN, (), "not written yet"))
            continue
        results.append(module.check(ctx))
    ctx.facts["quarantine"] = quarantine_state(ctx)
    ctx.facts["evidence"] = resolve_evidence(ctx)
    capsule = build_capsule(ctx, results, stage=stage, approvals=approvals,
                            destinations=destinations)
    require_valid("promote_capsule.schema.json", capsule, file=str(dataset))
    return capsule


def opa_batch(bundle: PolicyBundle, capsules: list[dict[str, Any]]) -> list[Any]:
    """Many decisions from ONE `opa eval` process (test-only: the product evaluates one
    capsule per process); the batch query itself is checked against single evals."""
    out = OpaEngine().query(bundle, {"capsules": capsules}, BATCH_QUERY)
    assert isinstance(out, list) and len(out) == len(capsules)
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
