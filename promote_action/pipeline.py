"""The shared path up to the Decision: spec → identity → gates A–E, G → capsule → policy.

`validate` (PR check) and `promote` (merge) both call `evaluate_dataset`; they differ only
in the stage, the approvals and the destinations they pass, so a promotion can never be
judged by different code than the PR check that preceded it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promote_action.digests import Workspace
from promote_action.evidence import resolve_evidence
from promote_action.gates import GATE_MODULES
from promote_action.gates.base import GateContext, GateResult, Options, Reason, Status
from promote_action.policy.bundle import PolicyBundle, load_bundle
from promote_action.policy.capsule import Approval, build_capsule
from promote_action.policy.decision import Decision, evaluate
from promote_action.policy.engines import select_engine
from promote_action.quarantine import quarantine_state
from promote_action.remote import is_uri
from promote_action.spec import Spec, load_spec


@dataclass
class Evaluation:
    spec: Spec
    workspace: Workspace
    ctx: GateContext
    results: list[GateResult]
    capsule: dict[str, Any]
    decision: Decision
    bundle: PolicyBundle
    stage: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return self.decision.outcome

    def line_of(self, path: str, pointer: str) -> int:
        """Line of a finding's (file, JSON pointer), for annotations and SARIF; 1 when
        the file was not loaded by the gates (reports never read files themselves)."""
        doc = self.spec.doc if path == self.ctx.spec_path else self.ctx.loaded(path)
        return doc.line_of(pointer) if doc is not None else 1


def run_gates(ctx: GateContext) -> list[GateResult]:
    results = []
    for gate_id, module_name in GATE_MODULES.items():
        module = importlib.import_module(module_name)
        res = module.check(ctx)
        if res.id != gate_id:  # a mis-wired gate must never pass silently
            res = GateResult(gate_id, Status.FAIL, (Reason(
                f"{gate_id}.internal", f"gate module reported id {res.id!r}"),), res.title)
        results.append(res)
    return results


def precompute_artifact_digests(ctx: GateContext) -> None:
    """Hash every declared artifact in parallel up front; gates then read the cache.

    Workspace files and objects in storage are hashed side by side (the store layer
    streams objects on its own threads while local files hash here). Unsafe paths and
    URIs, and objects that cannot be read at all, raise (exit 2) before any gate runs; a
    missing workspace artifact is left as `actual=None` for the gates to report, and so
    is an object that changed while it was read (gate E reports the fault).
    """
    import threading

    from promote_action.errors import Error, MissingFileError

    present, remote = [], []
    for i, rel in enumerate(ctx.artifact_paths()):
        ctx.link(rel)
        if is_uri(rel):
            remote.append(ctx.remote.parse(rel, file=ctx.spec_path,
                                           field=f"/artifacts/{i}/path"))
            continue
        try:
            ctx.workspace.resolve(rel, file=ctx.spec_path, field="/artifacts")
        except MissingFileError:
            continue
        present.append(rel)
    failure: list[Error] = []

    def fetch() -> None:
        try:
            ctx.remote.hash(remote)
        except Error as e:
            failure.append(e)

    worker = threading.Thread(target=fetch, name="kfm-remote", daemon=True)
    if remote:
        worker.start()
    local = ctx.workspace.digest_many(present)
    if remote:
        worker.join()
    if failure:
        raise failure[0]
    for rel, digest in local.items():
        ctx.link(rel).actual = digest
    for obj in remote:
        ctx.link(obj.uri).actual = ctx.remote.digest(obj.uri)


def gate_f_result(decision: Decision) -> GateResult:
    title = "Policy (OPA)"
    if decision.outcome == "pass":
        return GateResult("F", Status.PASS, (), title)
    reasons = tuple(Reason(r.code, r.message, "", r.path) for r in decision.deny) or (
        Reason("F.not_allowed", "policy did not allow promotion"),)
    return GateResult("F", Status.FAIL, reasons, title)


def evaluate_dataset(
    spec_path: Path,
    *,
    workspace: Path | None = None,
    options: Options | None = None,
    policy_dirs: Sequence[Path] = (),
    engine: str = "auto",
    stage: str = "check",
    approvals: Sequence[Approval] = (),
    destinations: Sequence[str] = (),
    publish: Callable[[GateContext], dict[str, Any]] | None = None,
) -> Evaluation:
    """Run everything up to the Decision. Raises `Error` only for input it cannot judge.

    `publish` (promote --publish-to) maps the gates' verified artifacts to their
    destinations; its result is the capsule's `publish` section the policy judges."""
    from promote_action.spec import find_spec

    spec_file = find_spec(spec_path)
    ws = Workspace(workspace if workspace is not None else spec_file.parent)
    try:
        display = spec_file.absolute().relative_to(ws.root).as_posix()
    except ValueError:
        display = spec_file.name if spec_file.parent.resolve() == ws.root else str(spec_file)
    # The spec is contributor input like any other file: it must be a regular file inside
    # the workspace (a spec symlinked to a file elsewhere would be judged as this dataset).
    spec = load_spec(ws.resolve(display, file=display, field="--spec"), display=display)
    bundle = load_bundle(list(policy_dirs))
    eng = select_engine(engine)
    ctx = GateContext(
        workspace=ws, spec=spec.data, spec_path=display, spec_doc=spec.doc,
        spec_hash=spec.identity.spec_hash, dataset_version_id=spec.identity.dataset_version_id,
        options=options or Options(), policy_data=bundle.data,
    )
    precompute_artifact_digests(ctx)
    results = run_gates(ctx)
    ctx.facts["quarantine"] = quarantine_state(ctx)
    ctx.facts["evidence"] = resolve_evidence(ctx)
    publish_request = publish(ctx) if publish is not None else None
    capsule = build_capsule(ctx, results, stage=stage, approvals=approvals,
                            destinations=destinations, publish=publish_request)
    from promote_action.schemas import require_valid

    require_valid("promote_capsule.schema.json", capsule, file="<capsule>")
    decision = evaluate(bundle, capsule, eng)
    results.insert(5, gate_f_result(decision))
    return Evaluation(spec, ws, ctx, results, capsule, decision, bundle, stage)
