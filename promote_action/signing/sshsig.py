"""SSH signatures (OpenSSH PROTOCOL.sshsig), the format of `ssh-keygen -Y sign`.

This is what git stores in a commit's `gpgsig` header when `gpg.format=ssh`, so writing
it ourselves lets pygit2 produce commits that plain `git verify-commit` accepts, with no
ssh-agent, no key file on disk and no subprocess. Verification is strict: one armor block,
canonical base64, no trailing bytes, version 1, the expected namespace, Ed25519 only.
"""

from __future__ import annotations

import base64
import hashlib
import struct

from ._wire import (
    ED25519,
    Reader,
    WireError,
    b64decode_strict,
    blob_to_line,
    ed25519_blob_to_raw,
    ssh_string,
)
from .ed25519 import verify as ed25519_verify
from .errors import SignatureError
from .keys import SigningKey, parse_public_key

MAGIC = b"SSHSIG"
VERSION = 1
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
_WRAP = 70  # ssh-keygen's column width; keeps our armor byte-identical to its output
_HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
MAX_ARMOR_CHARS = 16 * 1024


def _signed_message(namespace: str, reserved: bytes, hash_alg: str, data: bytes) -> bytes:
    digest = _HASHES[hash_alg](data).digest()
    return (MAGIC + ssh_string(namespace.encode("utf-8")) + ssh_string(reserved)
            + ssh_string(hash_alg.encode("ascii")) + ssh_string(digest))


def _check_namespace(namespace: str) -> None:
    if not namespace:
        raise SignatureError("sshsig namespace must not be empty")


def armor(blob: bytes) -> str:
    b64 = base64.b64encode(blob).decode("ascii")
    lines = [b64[i:i + _WRAP] for i in range(0, len(b64), _WRAP)]
    return "\n".join([BEGIN, *lines, END])


def sshsig_sign(key: SigningKey, data: bytes, namespace: str = "git") -> str:
    """Armored signature over `data`, without a trailing newline (git adds its own)."""
    _check_namespace(namespace)
    message = _signed_message(namespace, b"", "sha512", data)
    raw_sig = key.private.sign(message)
    blob = (MAGIC + struct.pack(">I", VERSION)
            + ssh_string(parse_public_key(key.public_openssh))
            + ssh_string(namespace.encode("utf-8")) + ssh_string(b"")
            + ssh_string(b"sha512")
            + ssh_string(ssh_string(ED25519.encode()) + ssh_string(raw_sig)))
    return armor(blob)


def dearmor(armored: str) -> bytes:
    if len(armored) > MAX_ARMOR_CHARS:
        raise SignatureError("SSH signature is too large")
    lines = armored.replace("\r\n", "\n").strip().split("\n")
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise SignatureError("not an armored SSH signature (missing BEGIN/END lines)")
    body = "".join(line.strip() for line in lines[1:-1])
    try:
        return b64decode_strict(body)
    except WireError:
        raise SignatureError("SSH signature armor is not valid base64") from None


def _parse(blob: bytes, namespace: str) -> tuple[bytes, bytes, str, bytes, bytes]:
    """(public key blob, reserved, hash_alg, raw signature, namespace bytes) or raise."""
    r = Reader(blob)
    if r.take(len(MAGIC)) != MAGIC:
        raise SignatureError("SSH signature has the wrong magic preamble")
    version = r.uint32()
    if version != VERSION:
        raise SignatureError(f"unsupported SSH signature version {version}")
    pub_blob = r.string()
    sig_namespace = r.string()
    reserved = r.string()
    hash_alg = r.text()
    sig = Reader(r.string())
    r.end()
    if sig_namespace != namespace.encode("utf-8"):
        shown = sig_namespace.decode("utf-8", "replace")[:64]
        raise SignatureError(f"SSH signature namespace is {shown!r}, expected {namespace!r}")
    if hash_alg not in _HASHES:
        raise SignatureError(f"unsupported SSH signature hash {hash_alg[:32]!r}")
    sig_type = sig.text()
    raw_sig = sig.string()
    sig.end()
    if sig_type != ED25519 or len(raw_sig) != 64:
        raise SignatureError(f"unsupported SSH signature type {sig_type[:40]!r}: only "
                             f"{ED25519} is accepted")
    return pub_blob, reserved, hash_alg, raw_sig, sig_namespace


def sshsig_verify(armored: str, data: bytes, namespace: str) -> str:
    """The signer's `ssh-ed25519 AAAA…` line if the signature is valid for `data`.

    This proves only who signed; whether that key is trusted (at that time, for that
    namespace) is `TrustRoot`'s decision, kept separate so neither can be skipped silently.
    """
    _check_namespace(namespace)
    try:
        pub_blob, reserved, hash_alg, raw_sig, _ = _parse(dearmor(armored), namespace)
        public_raw = ed25519_blob_to_raw(pub_blob)
    except WireError as e:
        raise SignatureError(f"malformed SSH signature: {e}") from None
    message = _signed_message(namespace, reserved, hash_alg, data)
    if not ed25519_verify(public_raw, raw_sig, message):
        raise SignatureError("SSH signature does not match the signed data")
    return blob_to_line(pub_blob)
