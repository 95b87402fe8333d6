"""Helpers for the signing tests: real keys and real OpenSSH/git.

Keys come from `ssh-keygen` itself or from our `generate_demo_key` exported to the
OpenSSH format; every private key file is written 0600 inside tmp_path and removed at
the end of the test. ssh-keygen always runs with TZ=UTC so its reading of
valid-after/valid-before matches ours (we read times without `Z` as UTC).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from promote_action.signing.keys import SigningKey, generate_demo_key, load_signing_key

if shutil.which("ssh-keygen") is None or shutil.which("git") is None:  # pragma: no cover
    pytest.skip("ssh-keygen and git are required", allow_module_level=True)

UTC_ENV = {**os.environ, "TZ": "UTC", "LC_ALL": "C"}


@dataclass
class KeyFiles:
    key: SigningKey
    private_path: Path
    public_line: str  # "ssh-ed25519 AAAA..." as ssh-keygen prints it, comment removed


def write_private(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def export_openssh(key: SigningKey) -> bytes:
    return key.private.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.OpenSSH,
                                     serialization.NoEncryption())


def ssh_keygen(*args: str | Path, stdin: bytes | None = None,
               check: bool = False) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["ssh-keygen", *map(str, args)], input=stdin, capture_output=True,
                          env=UTC_ENV, check=check, timeout=60)


def git(cwd: Path, *args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**UTC_ENV, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=env, check=check, timeout=60)


@pytest.fixture
def keydir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "keys"
    d.mkdir(mode=0o700)
    yield d
    shutil.rmtree(d)  # private keys never outlive the test


@pytest.fixture
def make_key(keydir: Path) -> Callable[..., KeyFiles]:
    """`make_key(name, kind)`: kind "ssh-keygen" (made by OpenSSH) or "demo" (ours)."""

    def make(name: str = "signer", kind: str = "ssh-keygen") -> KeyFiles:
        path = keydir / name
        if kind == "ssh-keygen":
            ssh_keygen("-q", "-t", "ed25519", "-N", "", "-C", f"{name}@test", "-f", path,
                       check=True)
            path.with_suffix(".pub").unlink()
        else:
            write_private(path, export_openssh(generate_demo_key()))
        assert path.stat().st_mode & 0o777 == 0o600
        public = ssh_keygen("-y", "-f", path, check=True).stdout.decode().split()
        return KeyFiles(load_signing_key(path), path, " ".join(public[:2]))

    return make


def allowed_signers(path: Path, *lines: tuple[str, str] | tuple[str, str, str]) -> Path:
    """Write `principal [options] key` lines; returns the path."""
    out = []
    for item in lines:
        principal, key, *opts = item
        out.append(" ".join([principal, *[o for o in opts if o], key]))
    path.write_text("\n".join(out) + "\n")
    return path
