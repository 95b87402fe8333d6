"""Ed25519 signature checks on the verify path, through libsodium (PyNaCl).

`kfm-promote verify` checks three signatures per ledger entry (commit, DSSE envelope,
tag), so their cost bounds how fast an auditor can check a long ledger. On the machines
we measured, libsodium verifies in about 90 µs where OpenSSL (cryptography) takes
130-180 µs. libsodium applies RFC 8032 strictly (canonical S and point encodings, no
small-order keys or R), so what it accepts is a subset of what OpenSSL accepts: switching
can only turn an odd signature into a failure, never a forgery into a pass. Signing, key
files and fingerprints stay with cryptography.
"""

from __future__ import annotations

from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def verify(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    """True only for a valid signature by this raw 32-byte public key."""
    if len(public_raw) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        crypto_sign_open(signature + message, public_raw)
    except (CryptoError, ValueError, TypeError):
        return False
    return True
