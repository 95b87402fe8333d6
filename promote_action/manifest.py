"""The promotion manifest (the contract's v1 fields, nothing more), its in-toto/DSSE
wrapping, and the run receipt of the promotion run itself.

Every value comes from the evaluation, the flags or content hashes: no clock, no random
id. So re-running the same promotion gives byte-identical manifest, envelope (Ed25519 is
deterministic) and receipt, which is what makes a re-run recognisable as "already
recorded".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promote_action import __version__
from promote_action.policy.capsule import Approval
from promote_action.spec import canonical_digest

MANIFEST_VERSION = "v1"
PREDICATE_TYPE = "https://kfm.example/promotion-manifest/v1"
RUN_OPERATION = "promote"
PROMOTER = {"principal": "svc:kfm-promote", "role": "promoter"}


@dataclass(frozen=True)
class ManifestInputs:
    dataset_slug: str
    dataset_version_id: str
    spec_hash: str
    released_at: str
    artifacts: list[dict[str, str]]  # {path, digest, media_type[, published_uri]}
    catalogs: list[dict[str, str]]  # {path, digest}
    report_digest: str
    policy_label: str
    decision_id: str
    approvals: list[Approval]
    published_prefix: str | None = None  # `promote --publish-to`: <root>/<slug>/<version>/


def build_manifest(m: ManifestInputs) -> dict[str, Any]:
    """The contract's v1 template fields (schemas/promotion_manifest.schema.json), plus,
    for a version published to object storage, `published_prefix` and each artifact's
    `published_uri` (absent otherwise, so unpublished manifests are unchanged)."""
    manifest: dict[str, Any] = {
        "kfm_promotion_manifest_version": MANIFEST_VERSION,
        "dataset_slug": m.dataset_slug,
        "dataset_version_id": m.dataset_version_id,
        "spec_hash": m.spec_hash,
        "released_at": m.released_at,
        "artifacts": [_artifact(a) for a in sorted(m.artifacts, key=lambda a: a["path"])],
        "catalogs": [{"path": c["path"], "digest": c["digest"]}
                     for c in sorted(m.catalogs, key=lambda c: c["path"])],
        "qa": {"status": "pass", "report_digest": m.report_digest},
        "policy": {"policy_label": m.policy_label, "decision_id": m.decision_id},
        "approvals": [a.to_json() for a in m.approvals],
    }
    if m.published_prefix is not None:
        manifest["published_prefix"] = m.published_prefix
    return manifest


def _artifact(a: dict[str, str]) -> dict[str, str]:
    out = {"path": a["path"], "digest": a["digest"], "media_type": a["media_type"]}
    if "published_uri" in a:
        out["published_uri"] = a["published_uri"]
    return out


def manifest_statement(manifest: dict[str, Any]) -> dict[str, Any]:
    """in-toto Statement v1: subjects = the promoted artifacts, predicate = the manifest."""
    from promote_action.signing.dsse import intoto_statement

    subjects = [(a["path"], a["digest"]) for a in manifest["artifacts"]]
    return intoto_statement(subjects, PREDICATE_TYPE, manifest)


def sign_manifest(key: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    from promote_action.signing.dsse import sign_statement

    return sign_statement(key, manifest_statement(manifest))


def tool_digest() -> str:
    """Stands in for a container digest when none is given: the tool's own identity, so
    the receipt stays reproducible (a real image digest comes from --container-digest)."""
    return canonical_digest({"tool": "kfm-promote", "version": __version__})


def build_receipt(*, manifest: dict[str, Any], inputs: list[dict[str, str]],
                  outputs: list[dict[str, str]], decision_id: str, report_digest: str,
                  git_commit: str, container_digest: str | None,
                  params: dict[str, Any]) -> dict[str, Any]:
    """The contract's v1 run receipt, for the promotion run (schemas/run_receipt.schema.json).

    run_id is a content address of what the run consumed and produced; created_at is the
    release time (from the merge commit or flag), never the clock."""
    run_key = canonical_digest({"manifest": manifest, "inputs": inputs, "outputs": outputs,
                                "params": params})
    return {
        "run_id": f"kfm://run/{manifest['released_at']}.{run_key[7:19]}",
        "actor": dict(PROMOTER),
        "operation": RUN_OPERATION,
        "dataset_version_id": manifest["dataset_version_id"],
        "inputs": sorted(inputs, key=lambda x: x["uri"]),
        "outputs": sorted(outputs, key=lambda x: x["uri"]),
        "environment": {
            "container_digest": container_digest or tool_digest(),
            "git_commit": git_commit,
            "params_digest": canonical_digest(params),
        },
        "validation": {"status": "pass", "report_digest": report_digest},
        "policy": {"decision_id": decision_id},
        "created_at": manifest["released_at"],
    }
