"""DSSE v1 envelopes around in-toto Statements: the signed promotion manifest.

DSSE signs the pre-authentication encoding (PAE) of type and payload, so a signature
cannot be replayed under another payload type. The payload is stored base64-encoded and
verified before it is parsed; callers get bytes back only after a trusted key matched.
Ed25519 only, keyed by the OpenSSH fingerprint so the same key id appears in the
envelope, the ledger entry and `ssh-keygen -lf`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any

from promote_action.errors import InputError

from .ed25519 import verify as ed25519_verify
from .errors import SignatureError
from .keys import SigningKey, normalize_public_key, public_key_fingerprint, public_key_raw

PAYLOAD_TYPE_INTOTO = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
MAX_SIGNATURES = 16
_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")
_B64 = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len SP body`."""
    ptype = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(payload), payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    """Strict base64: standard or URL-safe alphabet (DSSE allows both), padding optional."""
    if not isinstance(text, str) or not _B64.fullmatch(text):
        raise SignatureError(f"DSSE envelope: {what} must be a base64 string")
    urlsafe, standard = ("-" in text or "_" in text), ("+" in text or "/" in text)
    if urlsafe and standard:
        raise SignatureError(f"DSSE envelope: {what} mixes base64 alphabets")
    altchars = b"-_" if urlsafe else None
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.encode("ascii"), altchars=altchars, validate=True)
    except binascii.Error:
        raise SignatureError(f"DSSE envelope: {what} is not valid base64") from None


def sign_envelope(key: SigningKey, payload_type: str, payload: bytes) -> dict[str, Any]:
    """One-signature envelope; deterministic because Ed25519 is."""
    sig = key.private.sign(pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": _b64(payload),
        "signatures": [{"keyid": key.fingerprint, "sig": _b64(sig)}],
    }


def _parse_envelope(envelope: Any) -> tuple[str, bytes, list[bytes]]:
    if not isinstance(envelope, dict):
        raise SignatureError("DSSE envelope must be a JSON object")
    unknown = set(envelope) - {"payloadType", "payload", "signatures"}
    if unknown:
        raise SignatureError(f"DSSE envelope has unknown fields: {sorted(unknown)}")
    ptype = envelope.get("payloadType")
    if not isinstance(ptype, str) or not ptype:
        raise SignatureError("DSSE envelope: payloadType must be a non-empty string")
    payload = _unb64(envelope.get("payload"), "payload")
    sigs = envelope.get("signatures")
    if not isinstance(sigs, list) or not sigs or len(sigs) > MAX_SIGNATURES:
        raise SignatureError("DSSE envelope: signatures must be a non-empty list")
    raw: list[bytes] = []
    for i, entry in enumerate(sigs):
        if not isinstance(entry, dict) or not set(entry) <= {"keyid", "sig"}:
            raise SignatureError(f"DSSE envelope: signatures[{i}] must be {{keyid, sig}}")
        raw.append(_unb64(entry.get("sig"), f"signatures[{i}].sig"))
    return ptype, payload, raw


def verify_envelope_signer(envelope: Any, trusted_public_keys: Iterable[str], *,
                           payload_type: str | None = None) -> tuple[bytes, str]:
    """(payload, the trusted `ssh-ed25519 …` key that signed it) or SignatureError.

    Key ids are hints only and never trusted: every signature is checked against every
    trusted key, and an empty trust set verifies nothing.
    """
    keys = [normalize_public_key(k) for k in trusted_public_keys]
    if not keys:
        raise SignatureError("DSSE envelope: no trusted keys to verify against")
    ptype, payload, sigs = _parse_envelope(envelope)
    if payload_type is not None and ptype != payload_type:
        raise SignatureError(f"DSSE envelope: payloadType is {ptype[:80]!r}, "
                             f"expected {payload_type!r}")
    message = pae(ptype, payload)
    for sig in sigs:
        for key in keys:
            if ed25519_verify(public_key_raw(key), sig, message):
                return payload, key
    raise SignatureError("DSSE envelope: no signature verifies with a trusted key")


def verify_envelope(envelope: Any, trusted_public_keys: Iterable[str], *,
                    payload_type: str | None = None) -> bytes:
    """The payload bytes, only if some signature verifies with a trusted key."""
    return verify_envelope_signer(envelope, trusted_public_keys, payload_type=payload_type)[0]


def envelope_keyids(envelope: dict[str, Any]) -> list[str]:
    """Key ids as written (untrusted hints), e.g. for a report line."""
    return [str(s.get("keyid", "")) for s in envelope.get("signatures", [])
            if isinstance(s, dict)]


def intoto_statement(subjects: list[tuple[str, str]], predicate_type: str,
                     predicate: dict[str, Any]) -> dict[str, Any]:
    """An in-toto Statement v1; subjects sorted by name so the bytes never depend on order."""
    if not subjects:
        raise InputError("in-toto statement needs at least one subject")
    seen: dict[str, str] = {}
    for name, digest in subjects:
        match = _SHA256.fullmatch(digest) if isinstance(digest, str) else None
        if not isinstance(name, str) or not name or match is None:
            raise InputError(f"in-toto subject {name!r}: digest must be 'sha256:<64 hex>'")
        if seen.setdefault(name, match.group(1)) != match.group(1):
            raise InputError(f"in-toto subject {name!r} listed with two different digests")
    if not predicate_type:
        raise InputError("in-toto statement needs a predicateType")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in sorted(seen.items())],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def sign_statement(key: SigningKey, statement: dict[str, Any]) -> dict[str, Any]:
    """Envelope over the RFC 8785 canonical bytes of `statement` (byte-stable)."""
    from promote_action.spec import canonical_bytes

    return sign_envelope(key, PAYLOAD_TYPE_INTOTO, canonical_bytes(statement))


def keyid_for(public_openssh: str) -> str:
    return public_key_fingerprint(public_openssh)
