"""Gate E — run receipts and checksums.

A receipt is only evidence if every claim in it can be recomputed: each input and output
digest is checked against the bytes on disk, the environment names an exact image, commit
and parameter set, and every published artifact is the output of some receipted run.
Anything unverifiable fails the gate; all problems of all receipts are reported at once.

Decisions worth knowing:
- uris are workspace-relative paths (the same confinement as every other path) or object
  URIs (``s3://``, ``gs://``, ``az://``, ``https://``, ``file://``), hashed through the
  store layer once per run. A uri that escapes the workspace, a malformed object URI or an
  object that cannot be read (credentials, 403, 404, timeouts) is unjudgeable input
  (exit 2); any other scheme is a finding, since gate E cannot recompute its digest.
- an object that changed while it was hashed, or whose length differs from what the
  store or the spec (`artifacts[].size`) states, is a finding (`E.object_changed`,
  `E.size_mismatch`): those bytes were never judged, so they are never promoted.
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
from promote_action.remote import is_uri
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
            if _SCHEME.match(uri) and not is_uri(uri):
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
    reasons.extend(_object_faults(ctx))
    return result(ID, TITLE, reasons)


def _norm(ctx: GateContext, rel: str) -> str:
    """One spelling per file (`./a/b` == `a/b`) or object (normal URI form); unsafe
    spellings raise (exit 2)."""
    if is_uri(rel):
        return ctx.remote.parse(rel, file=ctx.spec_path).uri
    return str(ctx.workspace.check_relative(rel, file=ctx.spec_path))


def _object_faults(ctx: GateContext) -> list[Reason]:
    """Artifacts in storage that changed while hashed, or are not the declared size."""
    out = []
    raw = ctx.spec.get("artifacts")
    arts = raw if isinstance(raw, list) else []
    for j, art in enumerate(arts):
        if not isinstance(art, dict) or not isinstance(art.get("path"), str):
            continue
        key = ctx.artifact_key(art["path"], j)
        fault = ctx.remote.fault(key)
        if fault is not None:
            out.append(Reason(fault[0], fault[1], ctx.spec_path, f"/artifacts/{j}/path"))
            continue
        size = art.get("size")
        have = _size_of(ctx, key) if isinstance(size, int) else None
        if have is not None and size != have:
            out.append(Reason("E.size_mismatch", f"{key}: the spec declares {size} bytes, "
                              f"the artifact has {have}", ctx.spec_path,
                              f"/artifacts/{j}/size"))
    return out


def _size_of(ctx: GateContext, key: str) -> int | None:
    """Size of a pinned object or an existing workspace file (None: not available)."""
    pin = ctx.remote.pins.get(key)
    if pin is not None:
        return pin.size
    if is_uri(key):
        return None
    try:
        return ctx.file_of(key).stat().st_size
    except (MissingFileError, OSError):
        return None


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
    objects = {}
    for i, ref in enumerate(refs):
        uri = ref.get("uri") if isinstance(ref, dict) else None
        if isinstance(uri, str) and is_uri(uri):
            objects[i] = ctx.remote.parse(uri, file=ctx.spec_path, field=f"/evidence/{i}/uri")
    ctx.remote.hash(objects.values())
    for i, ref in enumerate(refs):
        uri = ref.get("uri") if isinstance(ref, dict) else None
        if i in objects:
            digest = ctx.remote.digest(objects[i].uri)
            if digest is not None:
                out.add(digest)
            continue
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
    remote = []
    for i, uri, claimed in refs:
        if is_uri(uri):
            obj = ctx.remote.parse(uri, file=rel, field=f"/{side}/{i}/uri")
            remote.append((i, obj.uri, claimed))
            continue
        if _SCHEME.match(uri):
            out.append(Reason("E.uri_not_local",
                              f"{rel}: {side}[{i}] {uri!r} is neither a workspace path nor "
                              "an object URI (s3, gs, az, abfs, https, file); gate E can only "
                              "verify bytes it can read", rel, f"/{side}/{i}/uri"))
            continue
        try:
            ctx.workspace.resolve(uri, file=rel, field=f"/{side}/{i}/uri")
        except MissingFileError:
            out.append(Reason(missing_code, f"{rel}: {side}[{i}] {uri!r} does not exist in "
                              "the dataset directory", rel, f"/{side}/{i}/uri"))
            continue
        local.append((i, uri, claimed))
    ctx.remote.hash(ctx.remote.parse(u) for _, u, _ in remote)
    actual = ctx.workspace.digest_many([uri for _, uri, _ in local])
    checked = [(i, uri, claimed, actual[_norm(ctx, uri)], "the file on disk")
               for i, uri, claimed in local]
    for i, uri, claimed in remote:
        fault = ctx.remote.fault(uri)
        if fault is not None:
            out.append(Reason(fault[0], f"{rel}: {side}[{i}] {fault[1]}", rel,
                              f"/{side}/{i}/uri"))
            continue
        checked.append((i, uri, claimed, ctx.remote.digest(uri) or "", "the object"))
    for i, uri, claimed, have, what in sorted(checked):
        if is_sha256_digest(claimed) and claimed != have:
            out.append(Reason("E.digest_mismatch",
                              f"{rel}: {side}[{i}] {uri!r} is recorded as {claimed} but "
                              f"{what} hashes to {have}", rel, f"/{side}/{i}/digest"))
    return out
