"""The verify path's Ed25519 check (libsodium) against cryptography's (OpenSSL): the same
answer on valid and damaged signatures, and never more permissive on odd encodings."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from promote_action.signing.ed25519 import verify

# RFC 8032 section 7.1, TEST 2: one-byte message.
RFC_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC_MESSAGE = bytes.fromhex("72")
RFC_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")


def openssl_verify(public: bytes, sig: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def test_rfc8032_vector() -> None:
    assert verify(RFC_PUBLIC, RFC_SIGNATURE, RFC_MESSAGE)
    assert not verify(RFC_PUBLIC, RFC_SIGNATURE, RFC_MESSAGE + b"\0")


@settings(max_examples=60, deadline=None)
@given(message=st.binary(max_size=300), flip=st.integers(min_value=0, max_value=8 * 96 - 1))
def test_same_answer_as_openssl(message: bytes, flip: int) -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    sig = key.sign(message)
    assert verify(public, sig, message) and openssl_verify(public, sig, message)
    blob = bytearray(sig + public)  # damage one bit of the signature or of the key
    blob[flip // 8] ^= 1 << (flip % 8)
    bad_sig, bad_public = bytes(blob[:64]), bytes(blob[64:])
    assert not verify(bad_public, bad_sig, message)
    assert not openssl_verify(bad_public, bad_sig, message)


@pytest.mark.parametrize(("public", "sig"), [
    (b"\x00" * 32, b"\x00" * 64),  # not a point at all
    (b"\x01" + b"\x00" * 31, b"\x01" + b"\x00" * 63),  # identity key, identity R, S = 0
    (RFC_PUBLIC, RFC_SIGNATURE[:32]  # S + L: the same signature, non-canonical S
     + (int.from_bytes(RFC_SIGNATURE[32:], "little")
        + 2**252 + 27742317777372353535851937790883648493).to_bytes(32, "little")),
    (RFC_PUBLIC[:31], RFC_SIGNATURE),  # short key
    (RFC_PUBLIC, RFC_SIGNATURE[:63]),  # short signature
])
def test_odd_encodings_rejected(public: bytes, sig: bytes) -> None:
    assert not verify(public, sig, RFC_MESSAGE)
    assert not verify(public, sig, b"")


def test_identity_key_forgery_openssl_would_accept_is_rejected() -> None:
    """A small-order key verifies every message under cofactorless OpenSSL semantics when
    R is the identity and S = 0: the reason the verifier is never *less* strict."""
    public, sig = b"\x01" + b"\x00" * 31, b"\x01" + b"\x00" * 63
    if not openssl_verify(public, sig, b"anything"):
        pytest.skip("this OpenSSL rejects small-order keys too")
    assert not verify(public, sig, b"anything")
