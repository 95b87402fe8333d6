"""SSH wire-format primitives (RFC 4251 `string`/`uint32`) shared by keys and sshsig.

A tiny strict reader: every read checks bounds and the caller must consume the buffer
completely, so trailing garbage in a blob is an error rather than silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

ED25519 = "ssh-ed25519"


class WireError(ValueError):
    """Malformed SSH wire data; callers convert it to their own error type."""


def ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class Reader:
    def __init__(self, data: bytes):
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise WireError("truncated data")
        out = self._data[self._pos:self._pos + n]
        self._pos += n
        return out

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())

    def text(self) -> str:
        try:
            return self.string().decode("utf-8")
        except UnicodeDecodeError as e:
            raise WireError("string is not UTF-8") from e

    def end(self) -> None:
        if self._pos != len(self._data):
            raise WireError("trailing bytes")


def b64decode_strict(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise WireError("invalid base64") from e


def ed25519_blob_to_raw(blob: bytes) -> bytes:
    """Raw 32-byte Ed25519 public key from an SSH public key blob."""
    r = Reader(blob)
    if r.text() != ED25519:
        raise WireError("not an ssh-ed25519 key")
    raw = r.string()
    r.end()
    if len(raw) != 32:
        raise WireError("ssh-ed25519 key must be 32 bytes")
    return raw


def raw_to_ed25519_blob(raw: bytes) -> bytes:
    return ssh_string(ED25519.encode()) + ssh_string(raw)


def blob_to_line(blob: bytes) -> str:
    return f"{ED25519} {base64.b64encode(blob).decode('ascii')}"


def fingerprint_of_blob(blob: bytes) -> str:
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")
