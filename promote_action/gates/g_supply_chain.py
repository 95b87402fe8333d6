"""Gate G — supply chain: SBOM and build provenance (optional unless required).

The contract calls G "optional but recommended", so an absent SBOM or provenance is a
`skip` that says so (never a silent pass) — unless the spec (`require`) or the caller
(`--require-sbom`, `--require-provenance`) makes it mandatory. A document that *is*
declared is held to the same standard as any other claim: it must exist, parse, have the
minimal structure of its format, and the provenance must be about *these* bytes (its
in-toto subjects' sha256 digests equal the published artifacts' digests on disk).

Everything is checked offline against minimal structural schemas (below), not the full
upstream schemas: enough to reject a document that is not what it says it is. A DSSE
envelope around the statement is unwrapped; its signatures are not verified here (there
is no trust root for pipeline keys yet), which is why the facts record it as unsigned.
A failed G denies through the policy's gate-failure rule; a skip does not.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from promote_action.errors import InputError
from promote_action.gates.base import GateContext, GateResult, Reason, Status, result
from promote_action.safeload import load_json_text

ID = "G"
TITLE = "Supply chain (SBOM, build provenance)"

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
DSSE_INTOTO = "application/vnd.in-toto+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"

_HEX = {"type": "string", "pattern": "^[0-9a-fA-F]+$"}
_CDX_COMPONENT = {
    "type": "object", "required": ["type", "name"],
    "properties": {
        "type": {"enum": ["application", "framework", "library", "container", "platform",
                          "operating-system", "device", "device-driver", "firmware", "file",
                          "machine-learning-model", "data", "cryptographic-asset"]},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string"},
        "bom-ref": {"type": "string", "minLength": 1},
        "purl": {"type": "string", "pattern": "^pkg:[a-z]"},
        "hashes": {"type": "array", "items": {
            "type": "object", "required": ["alg", "content"],
            "properties": {"alg": {"type": "string", "minLength": 1}, "content": _HEX}}},
        "components": {"type": "array", "items": {"$ref": "#/$defs/component"}},
    },
}
CYCLONEDX_MIN = {
    "type": "object", "required": ["bomFormat", "specVersion"],
    "properties": {
        "bomFormat": {"const": "CycloneDX"},
        "specVersion": {"enum": ["1.2", "1.3", "1.4", "1.5", "1.6"]},
        "serialNumber": {"type": "string", "pattern": "^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}"
                                                      "-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                                                      "[0-9a-fA-F]{12}$"},
        "version": {"type": "integer", "minimum": 1},
        "metadata": {"type": "object",
                     "properties": {"component": {"$ref": "#/$defs/component"}}},
        "components": {"type": "array", "items": {"$ref": "#/$defs/component"}},
        "dependencies": {"type": "array", "items": {
            "type": "object", "required": ["ref"],
            "properties": {"ref": {"type": "string"},
                           "dependsOn": {"type": "array", "items": {"type": "string"}}}}},
    },
    "$defs": {"component": _CDX_COMPONENT},
}
_SPDX_ID = {"type": "string", "pattern": "^SPDXRef-[A-Za-z0-9.-]+$"}
_SPDX_CHECKSUMS = {"type": "array", "items": {
    "type": "object", "required": ["algorithm", "checksumValue"],
    "properties": {"algorithm": {"type": "string", "minLength": 1}, "checksumValue": _HEX}}}
SPDX2_MIN = {
    "type": "object",
    "required": ["spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace",
                 "creationInfo"],
    "properties": {
        "spdxVersion": {"enum": ["SPDX-2.2", "SPDX-2.3"]},
        "dataLicense": {"const": "CC0-1.0"},
        "SPDXID": {"const": "SPDXRef-DOCUMENT"},
        "name": {"type": "string", "minLength": 1},
        "documentNamespace": {"type": "string", "pattern": "^[a-zA-Z][a-zA-Z0-9+.-]*://[^#]+$"},
        "creationInfo": {
            "type": "object", "required": ["created", "creators"],
            "properties": {
                "created": {"type": "string",
                            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
                "creators": {"type": "array", "minItems": 1, "items": {
                    "type": "string", "pattern": "^(Person|Organization|Tool): ."}}}},
        "packages": {"type": "array", "items": {
            "type": "object", "required": ["SPDXID", "name", "downloadLocation"],
            "properties": {"SPDXID": _SPDX_ID, "name": {"type": "string", "minLength": 1},
                           "downloadLocation": {"type": "string", "minLength": 1},
                           "checksums": _SPDX_CHECKSUMS}}},
        "files": {"type": "array", "items": {
            "type": "object", "required": ["SPDXID", "fileName"],
            "properties": {"SPDXID": _SPDX_ID, "fileName": {"type": "string", "minLength": 1},
                           "checksums": _SPDX_CHECKSUMS}}},
        "relationships": {"type": "array", "items": {
            "type": "object",
            "required": ["spdxElementId", "relationshipType", "relatedSpdxElement"]}},
    },
}
STATEMENT_MIN = {
    "type": "object", "required": ["_type", "subject", "predicateType"],
    "properties": {
        "_type": {"const": STATEMENT_V1},
        "subject": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["digest"],
            "properties": {
                "name": {"type": "string"},
                "digest": {"type": "object", "required": ["sha256"],
                           "properties": {"sha256": {"type": "string",
                                                     "pattern": "^[0-9a-fA-F]{64}$"}},
                           "additionalProperties": _HEX}}}},
        "predicateType": {"type": "string", "pattern": "^[a-zA-Z][a-zA-Z0-9+.-]*:."},
        "predicate": {"type": "object"},
    },
    "allOf": [
        {"if": {"properties": {"predicateType": {"const": SLSA_V1}}},
         "then": {"required": ["predicate"], "properties": {"predicate": {
             "required": ["buildDefinition", "runDetails"],
             "properties": {
                 "buildDefinition": {"type": "object",
                                     "required": ["buildType", "externalParameters"],
                                     "properties": {"buildType": {"type": "string"},
                                                    "externalParameters": {"type": "object"}}},
                 "runDetails": {"type": "object", "required": ["builder"], "properties": {
                     "builder": {"type": "object", "required": ["id"],
                                 "properties": {"id": {"type": "string", "minLength": 1}}}}}}}}}},
        {"if": {"properties": {"predicateType": {"const": SLSA_V02}}},
         "then": {"required": ["predicate"], "properties": {"predicate": {
             "required": ["builder", "buildType"],
             "properties": {"builder": {"type": "object", "required": ["id"]},
                            "buildType": {"type": "string"}}}}}},
    ],
}


def check(ctx: GateContext) -> GateResult:
    reasons: list[Reason] = []
    skips: list[Reason] = []
    raw_require = ctx.spec.get("require")
    require: dict[str, Any] = raw_require if isinstance(raw_require, dict) else {}
    facts: dict[str, Any] = {}
    for kind, flag in (("sbom", ctx.options.require_sbom),
                       ("provenance", ctx.options.require_provenance)):
        rel = ctx.spec.get(kind)
        if isinstance(rel, str):
            doc = ctx.try_load(rel, f"G.{kind}_missing", reasons, field=f"/{kind}")
            if doc is None:
                continue
            checker = _check_sbom if kind == "sbom" else _check_provenance
            facts[kind] = {"path": rel, "digest": ctx.digest(rel, field=f"/{kind}"),
                           **checker(ctx, rel, doc.data, reasons)}
        elif flag or require.get(kind) is True:
            why = "--require-" + kind if flag else f"the spec's require.{kind}"
            reasons.append(Reason(f"G.{kind}_required",
                                  f"{_label(kind)} is required ({why}) but the spec names none "
                                  f"(field `{kind}`)", ctx.spec_path, f"/{kind}"))
        else:
            skips.append(Reason(f"G.{kind}_absent",
                                f"no {_label(kind)} declared (spec field `{kind}`); not checked",
                                ctx.spec_path, f"/{kind}"))
    ctx.facts["supply_chain"] = facts
    if not reasons and len(skips) == 2:
        return GateResult(ID, Status.SKIP, tuple(skips), TITLE)
    return result(ID, TITLE, reasons)


def _label(kind: str) -> str:
    return "SBOM" if kind == "sbom" else "build provenance"


def _schema_reasons(schema: dict[str, Any], data: Any, code: str, rel: str, base: str = ""
                    ) -> list[Reason]:
    from jsonschema import Draft202012Validator

    out = []
    for err in Draft202012Validator(schema).iter_errors(data):
        pointer = base + "".join("/" + str(p).replace("~", "~0").replace("/", "~1")
                                 for p in err.absolute_path)
        msg = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        out.append(Reason(code, f"{rel}: {pointer or '/'}: {msg}", rel, pointer))
    return sorted(set(out), key=lambda r: (r.pointer, r.message))


def _check_sbom(ctx: GateContext, rel: str, data: Any, reasons: list[Reason]
                ) -> dict[str, Any]:
    """CycloneDX is recognised by `bomFormat`, SPDX 2.x by `spdxVersion` (JSON forms)."""
    if isinstance(data, dict) and "bomFormat" in data:
        fmt, schema = "CycloneDX", CYCLONEDX_MIN
    elif isinstance(data, dict) and "spdxVersion" in data:
        fmt, schema = "SPDX", SPDX2_MIN
    else:
        reasons.append(Reason("G.sbom_invalid", f"{rel}: not a CycloneDX JSON (bomFormat) or "
                              "SPDX 2.x JSON (spdxVersion) document", rel, ""))
        return {"format": None}
    reasons.extend(_schema_reasons(schema, data, "G.sbom_invalid", rel))
    return {"format": fmt}


def _check_provenance(ctx: GateContext, rel: str, data: Any, reasons: list[Reason]
                      ) -> dict[str, Any]:
    statement, base, enveloped = _unwrap(rel, data, reasons)
    if statement is None:
        return {"envelope": enveloped, "signed": False}
    problems = _schema_reasons(STATEMENT_MIN, statement, "G.provenance_invalid", rel, base)
    reasons.extend(problems)
    if not problems:
        reasons.extend(_subjects(ctx, rel, statement["subject"], base))
    return {"envelope": enveloped, "signed": False,
            "predicate_type": statement.get("predicateType") if isinstance(statement, dict)
            else None}


def _unwrap(rel: str, data: Any, reasons: list[Reason]) -> tuple[Any, str, bool]:
    """A bare Statement, or the Statement inside a DSSE envelope (pointer base `/payload`)."""
    if not (isinstance(data, dict) and "payloadType" in data):
        return data, "", False
    bad = None
    if data.get("payloadType") != DSSE_INTOTO:
        bad = ("/payloadType", f"DSSE payloadType must be {DSSE_INTOTO}")
    elif not isinstance(data.get("signatures"), list) or not data["signatures"]:
        bad = ("/signatures", "DSSE envelope has no signatures")
    if bad is None:
        try:
            raw = _b64(data.get("payload"))
            return load_json_text(raw.decode("utf-8"), f"{rel} payload"), "/payload", True
        except (ValueError, InputError) as e:
            msg = e.message if isinstance(e, InputError) else str(e)
            bad = ("/payload", f"DSSE payload is not base64 JSON: {msg}")
    reasons.append(Reason("G.provenance_invalid", f"{rel}: {bad[1]}", rel, bad[0]))
    return None, "", True


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("payload is not a string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _subjects(ctx: GateContext, rel: str, subjects: list[dict[str, Any]], base: str
              ) -> list[Reason]:
    """Each subject must be a published artifact with its on-disk digest; each published
    artifact must be a subject (else the provenance does not vouch for it)."""
    actual = {p: ctx.links[p].actual for p in ctx.artifact_paths()
              if p in ctx.links and ctx.links[p].actual}
    by_digest = {d: p for p, d in actual.items()}
    out, mentioned = [], set()
    for i, subj in enumerate(subjects):
        raw_name = subj.get("name")
        name = raw_name if isinstance(raw_name, str) else ""
        name = name[2:] if name.startswith("./") else name
        digest = "sha256:" + subj["digest"]["sha256"].lower()
        ptr = f"{base}/subject/{i}"
        if name in actual:
            mentioned.add(name)
            if digest != actual[name]:
                out.append(Reason("G.provenance_subject_mismatch",
                                  f"{rel}: subject {name!r} has sha256 {digest[7:]} but the "
                                  f"artifact on disk is {actual[name]}", rel,
                                  f"{ptr}/digest/sha256"))
        elif digest in by_digest:
            mentioned.add(by_digest[digest])
        else:
            out.append(Reason("G.provenance_subject_unknown",
                              f"{rel}: subject {name or '(unnamed)'!r} (sha256 {digest[7:]}) is "
                              "not a published artifact of this dataset", rel, ptr))
    for j, art in enumerate(ctx.artifact_paths()):
        if art in actual and art not in mentioned:
            out.append(Reason("G.artifact_not_in_provenance",
                              f"published artifact {art!r} is not a subject of the build "
                              f"provenance {rel}", ctx.spec_path, f"/artifacts/{j}/path"))
    return out
