"""DSSE envelopes and in-toto Statements, checked against the spec and `cryptography`."""

from __future__ import annotations

import base64
import copy
import hashlib
import json

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from promote_action.errors import InputError
from promote_action.signing.dsse import (
    PAYLOAD_TYPE_INTOTO,
    intoto_statement,
    pae,
    sign_envelope,
    sign_statement,
    verify_envelope,
    verify_envelope_signer,
)
from promote_action.signing.errors import SignatureError
from promote_action.signing.keys import generate_demo_key

PAYLOAD = b'{"hello":"world"}'
DIGEST = "sha256:" + hashlib.sha256(b"gauges").hexdigest()


def test_pae_golden_vector_from_dsse_spec():
    # protocol.md, "Test Vectors": the exact bytes of the spec's example.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world")


def test_pae_counts_bytes_not_characters():
    assert pae("t/ü", "é".encode()) == b"DSSEv1 4 t/\xc3\xbc 2 \xc3\xa9"
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_round_trip_and_determinism():
    key = generate_demo_key()
    env = sign_envelope(key, PAYLOAD_TYPE_INTOTO, PAYLOAD)
    assert env == sign_envelope(key, PAYLOAD_TYPE_INTOTO, PAYLOAD)  # byte-stable
    assert set(env) == {"payloadType", "payload", "signatures"}
    assert env["signatures"][0]["keyid"] == key.fingerprint
    assert base64.b64decode(env["payload"]) == PAYLOAD
    assert verify_envelope(env, [key.public_openssh]) == PAYLOAD
    assert verify_envelope_signer(env, [key.public_openssh + " comment"],
                                  payload_type=PAYLOAD_TYPE_INTOTO) == (PAYLOAD,
                                                                        key.public_openssh)
    # It survives a JSON round trip, as it will when stored in the ledger.
    assert verify_envelope(json.loads(json.dumps(env)), [key.public_openssh]) == PAYLOAD


def test_signature_verifies_independently_over_hand_built_pae():
    key = generate_demo_key()
    env = sign_envelope(key, "application/x-test", PAYLOAD)
    public = load_ssh_public_key(key.public_openssh.encode())
    assert isinstance(public, Ed25519PublicKey)
    sig = base64.b64decode(env["signatures"][0]["sig"])
    message = b"DSSEv1 18 application/x-test 17 " + PAYLOAD  # written out, not via pae()
    public.verify(sig, message)
    with pytest.raises(InvalidSignature):
        public.verify(sig, PAYLOAD)  # a DSSE signature is never over the bare payload


def _tampered(env, what):
    env = copy.deepcopy(env)
    if what == "payload":
        env["payload"] = base64.b64encode(PAYLOAD.replace(b"world", b"World")).decode()
    elif what == "payloadType":
        env["payloadType"] = "application/json"
    elif what == "sig":
        raw = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
        raw[0] ^= 1
        env["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()
    elif what == "keyid-only":  # a matching keyid does not make a bad signature good
        env["signatures"][0]["sig"] = base64.b64encode(b"\0" * 64).decode()
    return env


@pytest.mark.parametrize("what", ["payload", "payloadType", "sig", "keyid-only"])
def test_tampering_is_detected(what):
    key = generate_demo_key()
    env = _tampered(sign_envelope(key, PAYLOAD_TYPE_INTOTO, PAYLOAD), what)
    with pytest.raises(SignatureError, match="no signature verifies"):
        verify_envelope(env, [key.public_openssh])


def test_wrong_key_and_empty_trust_fail():
    key, other = generate_demo_key(), generate_demo_key()
    env = sign_envelope(key, PAYLOAD_TYPE_INTOTO, PAYLOAD)
    with pytest.raises(SignatureError, match="no signature verifies"):
        verify_envelope(env, [other.public_openssh])
    with pytest.raises(SignatureError, match="no trusted keys"):
        verify_envelope(env, [])
    with pytest.raises(SignatureError, match="payloadType"):
        verify_envelope(env, [key.public_openssh], payload_type="application/json")
    assert verify_envelope(env, [other.public_openssh, key.public_openssh]) == PAYLOAD


@pytest.mark.parametrize("envelope", [
    None, [], {"payloadType": "t", "payload": "", "signatures": []},
    {"payloadType": "", "payload": "", "signatures": [{"sig": ""}]},
    {"payloadType": "t", "payload": "not base64!", "signatures": [{"sig": ""}]},
    {"payloadType": "t", "payload": "", "signatures": [{"sig": "a+b-"}]},
    {"payloadType": "t", "payload": "", "signatures": ["x"]},
    {"payloadType": "t", "payload": "", "signatures": [{"sig": "", "extra": 1}]},
    {"payloadType": "t", "payload": "", "signatures": [{"sig": ""}], "extra": 1},
])
def test_malformed_envelopes_are_refused(envelope):
    with pytest.raises(SignatureError):
        verify_envelope(envelope, [generate_demo_key().public_openssh])


def test_url_safe_unpadded_base64_is_accepted():
    key = generate_demo_key()
    payload = b"\xfb\xff" * 10  # encodes to characters that differ between alphabets
    env = sign_envelope(key, "t", payload)
    env["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    assert "-" in env["payload"] or "_" in env["payload"]
    assert verify_envelope(env, [key.public_openssh]) == payload


def test_intoto_statement_shape_and_order():
    other = "sha256:" + "a" * 64
    st = intoto_statement([("processed/z.csv", DIGEST), ("processed/a.geojson", other)],
                          "https://kfm.example/promotion-manifest/v1", {"k": 1})
    assert st == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "processed/a.geojson", "digest": {"sha256": "a" * 64}},
                    {"name": "processed/z.csv", "digest": {"sha256": DIGEST[7:]}}],
        "predicateType": "https://kfm.example/promotion-manifest/v1",
        "predicate": {"k": 1},
    }
    key = generate_demo_key()
    env = sign_statement(key, st)
    assert env["payloadType"] == PAYLOAD_TYPE_INTOTO
    assert verify_envelope(env, [key.public_openssh]) == rfc8785.dumps(st)


@pytest.mark.parametrize("subjects", [
    [], [("a", "sha256:XYZ")], [("a", "sha1:" + "0" * 40)], [("", DIGEST)],
    [("a", DIGEST), ("a", "sha256:" + "0" * 64)],
])
def test_intoto_statement_rejects_bad_subjects(subjects):
    with pytest.raises(InputError):
        intoto_statement(subjects, "https://kfm.example/p", {})


def test_duplicate_identical_subject_is_collapsed():
    st = intoto_statement([("a", DIGEST), ("a", DIGEST)], "https://kfm.example/p", {})
    assert len(st["subject"]) == 1
