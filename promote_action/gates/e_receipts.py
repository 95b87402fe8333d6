"""Gate E — run receipts and checksums.

A receipt is only evidence if every claim in it can be recomputed: each input and output
digest is checked against the bytes on disk, the environment names an exact image, commit
and parameter set, and every published artifact is the output of some receipted run.
Anything unverifiable fails the gate; all problems of all receipts are reported at once.

Decisions worth knowing:
- uris are workspace-relative paths (the same confinement as every other path): a uri
  that escapes the workspace is unjudgeable input (exit 2), a scheme (``https://``) is a
  finding, since gate E cannot recompute a digest it cannot read.
- `params_digest` must be a sha256 digest always, and equal the RFC 8785 digest of the
  spec's `params` document when the spec names one.
- `validation.report_digest` must be the digest of one of the spec's `evidence` files
  when the spec lists evidence (the QA report is evidence, so the receipt's claim about
  it is checked against the file a reviewer can open; a content-addressed
  `kfm://evidence/sha256:…` ref counts by its digest). With no evidence listed there is
  nothing to compare with here; the policy denies missing evidence on its own (gate F).
- `validation.status` other than ``pass`` fails: a run whose own QA failed produced
  nothing publishable.
"""

from __future__ import annotations

import re
from typing import Any

from promote_action import receipts as rc
from promote_action.digests import is_sha256_digest
from promote_action.errors import MissingFileError
from promote_action.gates.base import GateContext, GateResult, Reason, result
from promote_action.spec import canonical_digest

ID = "E"
TITLE = "Run receipts and checksums"
_CONTENT_PREFIX = "kfm://evidence/"
# `https:`, `s3:`, `kfm:` — a uri with a scheme is not a workspace file (a one-letter
# "scheme" is a drive letter, which confinement rejects as an absolute path).
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def check(ctx: GateContext) -> GateResult:
    reasons: list[Reason] = []
    rels = ctx.spec.get("receipts")
    if not isinstance(rels, list) or not rels:
        reasons.append(Reason("E.receipt_missing", "the spec lists no run receipts: each "
                              "producing run needs one (spec field `receipts`)",
                              ctx.spec_path, "/receipts"))
        rels = []
    params_digest = _params_digest(ctx, reasons)
    report_digests = _evidence_digests(ctx)
    artifacts = {_norm(ctx, p): p for p in ctx.artifact_paths()}
    covered: set[str] = set()
    facts: list[dict[str, str]] = []
    for i, rel in enumerate(rels):
        if not isinstance(rel, str):
            continue
        doc = ctx.try_load(rel, "E.receipt_missing", reasons, field=f"/receipts/{i}")
        if doc is None:
            continue
        facts.append({"path": rel, "digest": ctx.digest(rel, field=f"/receipts/{i}")})
        reasons.extend(_shape(rel, doc.data))
        reasons.extend(_identity(ctx, rel, doc.data, params_digest, report_digests))
        reasons.extend(_files(ctx, rel, doc.data, "inputs"))
        reasons.extend(_files(ctx, rel, doc.data, "outputs"))
        for _, uri, claimed in rc.file_refs(doc.data, "outputs"):
            if _SCHEME.match(uri):
                continue
            art = artifacts.get(_norm(ctx, uri))
            if art is not None:
                covered.add(art)
                if claimed is not None and ctx.link(art).receipt is None:
                    ctx.link(art).receipt = claimed
    for j, art in enumerate(ctx.artifact_paths()):
        if art not in covered and facts:
            reasons.append(Reason(
                "E.artifact_not_in_receipt",
                f"published artifact {art!r} is not an output of any run receipt "
                f"({', '.join(str(r) for r in rels)})", ctx.spec_path, f"/artifacts/{j}/path"))
    ctx.facts["receipts"] = facts
    return result(ID, TITLE, reasons)


def _norm(ctx: GateContext, rel: str) -> str:
    """One spelling per file (`./a/b` == `a/b`); unsafe spellings raise (exit 2)."""
    return str(ctx.workspace.check_relative(rel, file=ctx.spec_path))


def _params_digest(ctx: GateContext, reasons: list[Reason]) -> str | None:
    rel = ctx.spec.get("params")
    if not isinstance(rel, str):
        return None
    doc = ctx.try_load(rel, "E.params_missing", reasons, field="/params")
    return canonical_digest(doc.data) if doc is not None else None


def _evidence_digests(ctx: GateContext) -> set[str] | None:
    """Actual digests of the spec's evidence files; None when the spec lists none."""
    refs = ctx.spec.get("evidence")
    if not isinstance(refs, list) or not refs:
        return None
    out = set()
    for i, ref in enumerate(refs):
        uri = ref.get("uri") if isinstance(ref, dict) else None
        if isinstance(uri, str) and uri.startswith(_CONTENT_PREFIX):
            # content-addressed evidence: the resolver (gate F) proves such a file exists
            if is_sha256_digest(uri[len(_CONTENT_PREFIX):]):
                out.add(uri[len(_CONTENT_PREFIX):])
            continue
        if not isinstance(uri, str) or _SCHEME.match(uri):
            continue
        try:
            out.add(ctx.digest(uri, field=f"/evidence/{i}/uri"))
        except MissingFileError:
            continue
    return out


def _shape(rel: str, data: Any) -> list[Reason]:
    return [Reason(f"E.{p.kind}", f"{rel}: {_describe(p)}", rel, p.pointer)
            for p in rc.receipt_problems(data)]


def _describe(p: rc.Problem) -> str:
    hints = {
        rc.CONTAINER_DIGEST_INVALID: "environment.container_digest must be sha256: + 64 "
                                     "lowercase hex (an image digest, not a tag)",
        rc.GIT_COMMIT_INVALID: "environment.git_commit must be a full 40-hex commit id",
        rc.PARAMS_DIGEST_INVALID: "environment.params_digest must be sha256: + 64 hex",
        rc.ENVIRONMENT_INCOMPLETE: "environment must record container_digest, git_commit "
                                   "and params_digest",
    }
    hint = hints.get(p.kind)
    return f"{hint} ({p.message})" if hint else p.message


def _identity(ctx: GateContext, rel: str, data: Any, params_digest: str | None,
              report_digests: set[str] | None) -> list[Reason]:
    out: list[Reason] = []
    if not isinstance(data, dict):
        return out
    vid = data.get("dataset_version_id")
    if isinstance(vid, str) and vid != ctx.dataset_version_id:
        out.append(Reason("E.version_id_mismatch",
                          f"{rel}: dataset_version_id {vid!r} is not the id the spec derives "
                          f"({ctx.dataset_version_id}); rerun the pipeline for this version",
                          rel, "/dataset_version_id"))
    claimed = rc.environment_value(data, "params_digest")
    if params_digest is not None and claimed and is_sha256_digest(claimed) \
            and claimed != params_digest:
        out.append(Reason("E.params_digest_mismatch",
                          f"{rel}: environment.params_digest {claimed} does not match the "
                          f"canonical digest of {ctx.spec.get('params')} ({params_digest})",
                          rel, "/environment/params_digest"))
    raw_validation = data.get("validation")
    validation: dict[str, Any] = raw_validation if isinstance(raw_validation, dict) else {}
    if validation.get("status") == "fail":
        out.append(Reason("E.validation_failed",
                          f"{rel}: the run's own validation failed (validation.status)",
                          rel, "/validation/status"))
    report = validation.get("report_digest")
    if report_digests is not None and is_sha256_digest(report) and report not in report_digests:
        out.append(Reason("E.report_unresolved",
                          f"{rel}: validation.report_digest {report} is not the digest of any "
                          "evidence file the spec lists; list the QA report under `evidence`",
                          rel, "/validation/report_digest"))
    return out


def _files(ctx: GateContext, rel: str, data: Any, side: str) -> list[Reason]:
    missing_code = "E.input_missing" if side == "inputs" else "E.output_missing"
    out = []
    refs = rc.file_refs(data, side)
    local = []
    for i, uri, claimed in refs:
        if _SCHEME.match(uri):
            out.append(Reason("E.uri_not_local",
                              f"{rel}: {side}[{i}] {uri!r} is not a workspace path; gate E "
                              "can only verify files that are part of the dataset",
                              rel, f"/{side}/{i}/uri"))
            continue
        try:
            ctx.workspace.resolve(uri, file=rel, field=f"/{side}/{i}/uri")
        except MissingFileError:
            out.append(Reason(missing_code, f"{rel}: {side}[{i}] {uri!r} does not exist in "
                              "the dataset directory", rel, f"/{side}/{i}/uri"))
            continue
        local.append((i, uri, claimed))
    actual = ctx.workspace.digest_many([uri for _, uri, _ in local])
    for i, uri, claimed in local:
        have = actual[_norm(ctx, uri)]
        if is_sha256_digest(claimed) and claimed != have:
            out.append(Reason("E.digest_mismatch",
                              f"{rel}: {side}[{i}] {uri!r} is recorded as {claimed} but the "
                              f"file on disk hashes to {have}", rel, f"/{side}/{i}/digest"))
    return out
