"""`promote`: the merge-time path, all or nothing, in the order the protocol fixes.

1. re-run every gate and 2. the policy on the capsule (with approvals and the exact
destinations) through `pipeline.evaluate_dataset`, the same code as the PR check;
3. require every artifact digest recorded and linked; 4. build manifest, run receipt,
report and decision record; 5. sign (DSSE + commit + tag); 6. append one ledger entry;
7. land it with a compare-and-swap. A deny at any step records a `denied` entry (nothing
published); a dry run or staged patch stops before touching the repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promote_action.errors import InputError
from promote_action.ledger.append import PROMOTION_FILES, Event, sha
from promote_action.ledger.entry import (
    dataset_readme_path,
    idempotency_key,
    legacy_version_dir,
    pointer_path,
    render_json,
    tag_name,
    version_dir,
)
from promote_action.ledger.policy_paths import load_destinations, require_allowed
from promote_action.ledger.writer import AppendResult, LedgerTarget, append_event, preview_event
from promote_action.policy.capsule import Approval
from promote_action.spec import SLUG_RE, VERSION_ID_RE


@dataclass
class PromoteRequest:
    spec: Path
    dataset_slug: str
    dataset_version_id: str
    approvals: list[Approval]
    released_at: str
    git_commit: str
    ledger: LedgerTarget
    key: Any | None
    source: dict[str, Any]
    outputs: Path | None = None
    dry_run: bool = False
    staged_patch: Path | None = None
    policy_dirs: list[Path] = field(default_factory=list)
    engine: str = "auto"
    container_digest: str | None = None
    publish_to: str | None = None  # object-store root for the controlled write
    store_settings: Any = None  # `store.settings.StoreSettings` (from the environment)
    schemas: Path | None = None  # reviewed STAC extension schemas (None: the default)


@dataclass
class PromoteResult:
    status: str  # recorded | already_recorded | denied | conflict | dry_run | staged
    outcome: str  # pass | deny | quarantine
    exit_code: int
    append: AppendResult
    reasons: list[dict[str, str]]
    report: dict[str, Any]
    published: list[dict[str, str]] = field(default_factory=list)


def destinations_for(slug: str, version: str, catalogs: list[str]) -> list[str]:
    """Every ledger path a promotion asks to write (the entry's seq is not known yet, so
    its directory stands for it); the policy must allow all of them. The version's folder
    is named as the allow-list names it (`policy_paths.as_listed`)."""
    vdir = legacy_version_dir(slug, version)
    return sorted({"entries/", dataset_readme_path(slug), pointer_path(slug),
                   f"{vdir}/events.json", f"refs/tags/{tag_name(slug, version)}",
                   f"{vdir}/capsule.json", f"{vdir}/policy/",
                   *(f"{vdir}/{n}" for n in PROMOTION_FILES),
                   *(f"{vdir}/catalogs/{c}" for c in catalogs)})


def spec_catalogs(spec: dict[str, Any]) -> list[str]:
    found = spec.get("catalogs")
    cats: dict[str, Any] = found if isinstance(found, dict) else {}
    out = [cats.get(k) for k in ("dcat", "prov", "stac_collection")]
    out += list(cats.get("stac_items") or [])
    return sorted({c for c in out if isinstance(c, str) and c})


def linkage_reasons(capsule: dict[str, Any]) -> list[dict[str, str]]:
    """Step 3, independent of the policy: every artifact hashed and linked everywhere."""
    out = []
    for i, a in enumerate(capsule.get("artifacts", [])):
        needed = ["dcat", "prov", "receipt"] + (["stac"] if a.get("spatial") else [])
        bad = [k for k in needed if not a.get("digest") or a["links"].get(k) != a["digest"]]
        if bad:
            out.append({"code": "P.hash_linkage", "path": f"artifacts[{i}]",
                        "message": f"{a.get('path')}: digest not recorded/linked in "
                                   f"{', '.join(bad)}"})
    if not capsule.get("artifacts"):
        out.append({"code": "P.no_artifacts", "path": "artifacts",
                    "message": "nothing to promote: the spec declares no artifacts"})
    return out


def _check_request(req: PromoteRequest) -> None:
    if not SLUG_RE.match(req.dataset_slug):
        raise InputError("invalid dataset slug", field="--dataset-slug")
    if not VERSION_ID_RE.match(req.dataset_version_id):
        raise InputError("invalid dataset version id", field="--dataset-version-id")
    if not req.dry_run and req.key is None:
        from promote_action.errors import SigningError

        raise SigningError("no signing key: pass --signing-key FILE, set KFM_SIGNING_KEY, "
                           "or --demo-key; nothing is ever written unsigned")


def promote(req: PromoteRequest) -> PromoteResult:
    from promote_action.gates.base import Options
    from promote_action.pipeline import evaluate_dataset
    from promote_action.report.model import build_report
    from promote_action.spec import load_spec
    from promote_action.stac_schemas.store import explicit_store

    _check_request(req)
    if req.key is not None:  # before the gates run: an untrusted key can never land
        req.ledger.require_signer(req.key, req.released_at)
    slug, version = req.dataset_slug, req.dataset_version_id
    spec = load_spec(req.spec)
    dests = destinations_for(slug, version, spec_catalogs(spec.data))
    step = publish_step(req)
    ev = evaluate_dataset(
        req.spec, workspace=req.outputs, policy_dirs=req.policy_dirs, engine=req.engine,
        options=Options(expected_slug=slug, expected_version_id=version,
                        stac_schemas=explicit_store(req.schemas)),
        stage="promote", approvals=req.approvals, destinations=dests,
        publish=step.request if step is not None else None)
    req.ledger.destinations = load_destinations(ev.bundle.data)
    require_allowed([d for d in dests if d != "entries/"], req.ledger.destinations, slug,
                    version)
    report = build_report(ev)
    report_bytes = render_json(report)
    decision = ev.decision.record()
    decision_bytes = render_json(decision)
    evidence = decision_evidence(ev, decision_bytes)
    reasons = [r.to_json() for r in ev.decision.deny + ev.decision.pending]
    reasons += linkage_reasons(ev.capsule)
    common = {"spec_hash": ev.spec.identity.spec_hash,
              "decision_id": ev.decision.decision_id,
              "policy_bundle_digest": ev.decision.policy_digest,
              "source": req.source, "approvals": [a.to_json() for a in req.approvals]}
    if ev.outcome != "pass" or reasons:
        outcome = ev.outcome if ev.outcome != "pass" else "deny"
        event = Event("denied", slug, version, req.released_at,
                      idempotency_key("denied", slug, version, ev.decision.decision_id,
                                      req.source.get("merge_commit")),
                      {**common, "manifest_digest": None, "outcome": outcome,
                       "reasons": reasons},
                      files={"report.json": report_bytes, **evidence},
                      summary={"decision_id": ev.decision.decision_id,
                               "approvals": common["approvals"],
                               "reason_codes": sorted({r["code"] for r in reasons})})
        res = _land(req, event)
        return PromoteResult("denied" if res.status == "recorded" else res.status, outcome,
                             1, res, reasons, report)
    published = []
    if step is not None:  # copies first (immutable, unreferenced), then the ledger commit
        published = [o.to_json() for o in step.execute(ev.workspace, dry_run=req.dry_run)]
    event = _promotion_event(req, ev, common, report_bytes, evidence, step)
    res = _land(req, event)
    code = 1 if res.status == "conflict" else 0
    return PromoteResult(res.status, "pass", code, res, [], report, published)


def publish_step(req: PromoteRequest) -> Any:
    """The publish step for `--publish-to`, or None (nothing leaves the ledger)."""
    if req.publish_to is None:
        return None
    from promote_action.store.publish_step import PublishStep
    from promote_action.store.settings import StoreSettings

    settings = req.store_settings or StoreSettings()
    return PublishStep(req.publish_to, req.dataset_slug, req.dataset_version_id, settings)


def _land(req: PromoteRequest, event: Event) -> AppendResult:
    if req.dry_run or req.staged_patch is not None:
        return preview_event(req.ledger, event, req.key, req.staged_patch)
    return append_event(req.ledger, event, req.key)


def decision_evidence(ev: Any, decision_bytes: bytes) -> dict[str, bytes]:
    """What a replay needs: the decision record, the capsule it judged and the exact
    policy bundle (see `ledger/policy_store.py`), stored beside each record."""
    from promote_action.ledger.policy_store import bundle_files

    return {"decision.json": decision_bytes, "capsule.json": render_json(ev.capsule),
            **bundle_files(ev.bundle)}


def _promotion_event(req: PromoteRequest, ev: Any, common: dict[str, Any],
                     report_bytes: bytes, evidence: dict[str, bytes], step: Any) -> Event:
    from promote_action.manifest import (
        ManifestInputs,
        build_manifest,
        build_receipt,
        sign_manifest,
    )
    from promote_action.schemas import require_valid

    slug, version, ws = req.dataset_slug, req.dataset_version_id, ev.workspace
    cat_paths = spec_catalogs(ev.spec.data)
    catalogs = [{"path": c, "digest": ws.digest(c)} for c in cat_paths]
    artifacts = [{"path": a["path"], "digest": a["digest"], "media_type": a["media_type"]}
                 for a in ev.capsule["artifacts"]]
    if step is not None:
        for a in artifacts:
            a["published_uri"] = step.published_uri(a["path"])
    label = ev.spec.data.get("policy_label")
    manifest = build_manifest(ManifestInputs(
        slug, version, ev.spec.identity.spec_hash, req.released_at, artifacts, catalogs,
        sha(report_bytes), label, ev.decision.decision_id, list(req.approvals),
        step.prefix if step is not None else None))
    require_valid("promotion_manifest.schema.json", manifest, file="<manifest>")
    manifest_bytes = render_json(manifest)
    files: dict[str, bytes] = {"manifest.json": manifest_bytes, "report.json": report_bytes,
                               **evidence}
    if req.key is not None:
        files["manifest.dsse.json"] = render_json(sign_manifest(req.key, manifest))
    for c in cat_paths:
        files[f"catalogs/{c}"] = ws.resolve(c, field="/catalogs").read_bytes()
    vdir = version_dir(slug, version)
    inputs = [{"uri": ev.ctx.spec_path, "digest": sha(ev.spec.path.read_bytes())}]
    inputs += [{"uri": a["path"], "digest": a["digest"]} for a in artifacts]
    inputs += [{"uri": c["path"], "digest": c["digest"]} for c in catalogs]
    inputs += [{"uri": r["path"], "digest": r["digest"]} for r in ev.capsule["receipts"]
               if r.get("digest")]
    outputs = [{"uri": f"{vdir}/{n}", "digest": sha(b)} for n, b in sorted(files.items())]
    outputs += [{"uri": a["published_uri"], "digest": a["digest"]} for a in artifacts
                if "published_uri" in a]
    receipt = build_receipt(
        manifest=manifest, inputs=_dedupe(inputs), outputs=outputs,
        decision_id=ev.decision.decision_id, report_digest=sha(report_bytes),
        git_commit=req.git_commit, container_digest=req.container_digest,
        params={"ledger_branch": req.ledger.branch, "source": req.source,
                "approvals": common["approvals"], "released_at": req.released_at})
    require_valid("run_receipt.schema.json", receipt, file="<promotion receipt>")
    files["receipt.json"] = render_json(receipt)
    mdigest = sha(manifest_bytes)
    return Event("promotion", slug, version, req.released_at,
                 idempotency_key("promotion", slug, version, mdigest,
                                 req.source.get("merge_commit")),
                 {**common, "manifest_digest": mdigest, "released_at": req.released_at},
                 files=files, manifest_digest=mdigest,
                 summary={"decision_id": ev.decision.decision_id, "manifest_digest": mdigest,
                          "approvals": common["approvals"]},
                 publish={"kfm_published_pointer_version": "v1", "dataset_slug": slug,
                          "dataset_version_id": version, "manifest_digest": mdigest,
                          "released_at": req.released_at,
                          **({"published_prefix": step.prefix} if step is not None else {})})


def _dedupe(items: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for it in items:
        seen.setdefault(it["uri"], it)
    return list(seen.values())
