"""Loading the ledger signing key, and naming public keys the way OpenSSH does.

Only unencrypted OpenSSH Ed25519 private keys are accepted: Ed25519 signatures are
deterministic (byte-stable ledger), and `git verify-commit` / `ssh-keygen -Y verify`
understand them with no extra tooling. A missing or unusable key is an error, never a
reason to write something unsigned. Key material never appears in a message or repr:
errors name the flag, the environment variable or the file, and nothing else.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from promote_action.errors import InputError, SigningError

from ._wire import (
    ED25519,
    WireError,
    b64decode_strict,
    blob_to_line,
    ed25519_blob_to_raw,
    fingerprint_of_blob,
)

ENV_VAR = "KFM_SIGNING_KEY"
FLAG = "--signing-key"
MAX_KEY_BYTES = 64 * 1024
_PEM_HEADER = "-----BEGIN OPENSSH PRIVATE KEY-----"


@dataclass(frozen=True, repr=False)
class SigningKey:
    """An Ed25519 private key plus the public names every record uses for it."""

    private: Ed25519PrivateKey = field(compare=False)
    public_openssh: str
    fingerprint: str
    demo: bool = False

    def __repr__(self) -> str:
        # The private half must never reach a log, even through a debugger or f-string.
        return f"SigningKey(fingerprint={self.fingerprint!r}, demo={self.demo})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("SigningKey is not picklable (it holds private key material)")


def _from_private(private: Ed25519PrivateKey, demo: bool) -> SigningKey:
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode("ascii")
    return SigningKey(private, public, public_key_fingerprint(public), demo)


def load_signing_key(path: Path | None = None, *, env_var: str = ENV_VAR) -> SigningKey:
    """The key from `path` if given, else from the contents of `env_var`.

    A flag beats the environment so that a local run can override a CI secret; when
    neither is there we stop with exit 2 rather than fall back to a demo key (which must
    be asked for explicitly with `generate_demo_key`).
    """
    if path is not None:
        source = str(path)
        try:
            if path.stat().st_size > MAX_KEY_BYTES:
                raise SigningError("signing key file is too large to be an ed25519 key",
                                   file=source)
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SigningError(f"signing key file not found (from {FLAG})",
                               file=source) from None
        except IsADirectoryError:
            raise SigningError(f"signing key path is a directory (from {FLAG})",
                               file=source) from None
        except OSError as e:
            raise SigningError(f"cannot read signing key file ({e.strerror})",
                               file=source) from None
    else:
        value = os.environ.get(env_var, "")
        if not value.strip():
            raise SigningError(
                f"no signing key: pass {FLAG} FILE or set {env_var} to the contents of an "
                "OpenSSH ed25519 private key; nothing is ever written unsigned"
            )
        source = f"${env_var}"
        raw = value.encode("utf-8", "replace")
    return _parse_private(raw, source)


def _normalize(raw: bytes) -> bytes:
    text = raw.decode("ascii", "replace").replace("\r\n", "\n").strip()
    # CI secrets are often pasted with literal "\n" sequences instead of newlines.
    if "\n" not in text and "\\n" in text:
        text = text.replace("\\n", "\n")
    return (text + "\n").encode("ascii", "replace")


def _parse_private(raw: bytes, source: str) -> SigningKey:
    data = _normalize(raw)
    if not data.startswith(_PEM_HEADER.encode()):
        raise SigningError(
            "signing key is not an OpenSSH private key (expected "
            f"'{_PEM_HEADER}'; create one with: ssh-keygen -t ed25519 -N '' -f FILE)",
            file=source,
        )
    try:
        private = serialization.load_ssh_private_key(data, password=None)
    except TypeError:
        # cryptography raises TypeError for a passphrase-protected key.
        raise SigningError("signing key is encrypted; use an unencrypted key held in a "
                           "secret store", file=source) from None
    except (ValueError, UnsupportedAlgorithm):
        # The cause is dropped on purpose: parser messages could echo key bytes.
        raise SigningError("signing key is not a valid OpenSSH private key",
                           file=source) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningError("signing key must be ed25519 (deterministic signatures); "
                           "got another key type", file=source)
    return _from_private(private, demo=False)


def generate_demo_key() -> SigningKey:
    """A throw-away key for demos and tests; callers must announce it loudly."""
    return _from_private(Ed25519PrivateKey.generate(), demo=True)


def parse_public_key(public_openssh: str) -> bytes:
    """The SSH wire blob of an `ssh-ed25519 AAAA… [comment]` line (comment ignored)."""
    parts = public_openssh.strip().split(None, 2)
    if len(parts) < 2:
        raise InputError("malformed public key: expected 'ssh-ed25519 <base64> [comment]'")
    if parts[0] != ED25519:
        raise InputError(f"unsupported public key type {parts[0][:40]!r}: only "
                         f"{ED25519} is accepted")
    try:
        blob = b64decode_strict(parts[1])
        ed25519_blob_to_raw(blob)
    except WireError as e:
        raise InputError(f"malformed {ED25519} public key: {e}") from None
    return blob


@functools.lru_cache(maxsize=256)
def normalize_public_key(public_openssh: str) -> str:
    """Canonical `ssh-ed25519 <base64>` form, so keys compare as strings (cached like
    `public_key_raw`: every DSSE envelope a verify checks names the same few keys)."""
    return blob_to_line(parse_public_key(public_openssh))


@functools.lru_cache(maxsize=256)
def public_key_raw(public_openssh: str) -> bytes:
    """The 32 key bytes (cached: a ledger verify checks thousands of envelopes against
    the same few trusted keys)."""
    return ed25519_blob_to_raw(parse_public_key(public_openssh))


def public_key_fingerprint(public_openssh: str) -> str:
    """`SHA256:<base64, no padding>`, byte-identical to `ssh-keygen -lf`."""
    return fingerprint_of_blob(parse_public_key(public_openssh))
