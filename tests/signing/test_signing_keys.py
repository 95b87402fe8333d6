"""Loading signing keys: file, environment, refusals, and no key material in messages."""

from __future__ import annotations

import base64
import pickle
import subprocess
import traceback

import pytest
from cryptography.hazmat.primitives import serialization
from signing_support import export_openssh, ssh_keygen, write_private

from promote_action.errors import InputError, SigningError
from promote_action.signing.keys import (
    generate_demo_key,
    load_signing_key,
    normalize_public_key,
    public_key_fingerprint,
)


def _secret_markers(private_path) -> list[str]:
    """Strings that would betray the private key if they appeared anywhere."""
    text = private_path.read_text()
    body = "".join(text.strip().splitlines()[1:-1])
    key = load_signing_key(private_path)
    raw = key.private.private_bytes(serialization.Encoding.Raw,
                                    serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    return [body[40:80], body[-60:-20], raw.hex(), base64.b64encode(raw).decode()[:20]]


def test_load_from_file_matches_ssh_keygen(make_key, monkeypatch):
    monkeypatch.delenv("KFM_SIGNING_KEY", raising=False)
    k = make_key()
    assert k.key.public_openssh == k.public_line
    assert not k.key.demo
    printed = ssh_keygen("-lf", k.private_path, check=True).stdout.decode().split()
    assert printed[1] == k.key.fingerprint
    assert public_key_fingerprint(k.public_line + " some comment") == k.key.fingerprint


def test_load_from_env_var(make_key, monkeypatch):
    k = make_key()
    text = k.private_path.read_text()
    monkeypatch.setenv("KFM_SIGNING_KEY", text)
    assert load_signing_key().fingerprint == k.key.fingerprint
    # Secrets pasted with CRLF or literal "\n" still load.
    monkeypatch.setenv("KFM_SIGNING_KEY", text.replace("\n", "\r\n"))
    assert load_signing_key().fingerprint == k.key.fingerprint
    monkeypatch.setenv("KFM_SIGNING_KEY", text.strip().replace("\n", "\\n"))
    assert load_signing_key().fingerprint == k.key.fingerprint
    monkeypatch.setenv("OTHER_VAR", text)
    monkeypatch.delenv("KFM_SIGNING_KEY")
    assert load_signing_key(env_var="OTHER_VAR").fingerprint == k.key.fingerprint


def test_file_beats_env(make_key, monkeypatch):
    a, b = make_key("a"), make_key("b")
    monkeypatch.setenv("KFM_SIGNING_KEY", b.private_path.read_text())
    assert load_signing_key(a.private_path).fingerprint == a.key.fingerprint


def test_missing_key_names_flag_and_env(monkeypatch, tmp_path):
    monkeypatch.delenv("KFM_SIGNING_KEY", raising=False)
    with pytest.raises(SigningError) as exc:
        load_signing_key()
    message = exc.value.diagnostics()
    assert "--signing-key" in message and "KFM_SIGNING_KEY" in message
    assert exc.value.exit_code == 2
    monkeypatch.setenv("KFM_SIGNING_KEY", "  \n")
    with pytest.raises(SigningError, match="KFM_SIGNING_KEY"):
        load_signing_key()
    with pytest.raises(SigningError) as exc:
        load_signing_key(tmp_path / "nope")
    assert str(tmp_path / "nope") in exc.value.diagnostics()
    assert "--signing-key" in exc.value.diagnostics()
    with pytest.raises(SigningError, match="directory"):
        load_signing_key(tmp_path)


@pytest.mark.parametrize(("keytype", "bits"), [("rsa", "2048"), ("ecdsa", "256")])
def test_non_ed25519_key_is_refused(keydir, keytype, bits):
    path = keydir / keytype
    ssh_keygen("-q", "-t", keytype, "-b", bits, "-N", "", "-f", path, check=True)
    with pytest.raises(SigningError, match="ed25519") as exc:
        load_signing_key(path)
    assert str(path) in exc.value.diagnostics()


def test_encrypted_key_is_refused(keydir):
    path = keydir / "enc"
    ssh_keygen("-q", "-t", "ed25519", "-N", "correct horse", "-f", path, check=True)
    with pytest.raises(SigningError, match="encrypted"):
        load_signing_key(path)


def test_pem_and_garbage_are_refused(keydir):
    pem = keydir / "pkcs8.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", pem], check=True,
                   capture_output=True)
    with pytest.raises(SigningError, match="not an OpenSSH private key"):
        load_signing_key(pem)
    garbage = write_private(keydir / "garbage",
                            b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
                            b"-----END OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(SigningError, match="not a valid OpenSSH private key"):
        load_signing_key(garbage)


def test_no_key_material_in_repr_or_errors(make_key, monkeypatch):
    k = make_key()
    markers = _secret_markers(k.private_path)
    shown = [repr(k.key), str(k.key), f"{k.key}", repr([k.key])]
    # A truncated key in the environment: the error must not echo what it was given.
    text = k.private_path.read_text()
    monkeypatch.setenv("KFM_SIGNING_KEY", text[: len(text) // 2] + text[-40:])
    with pytest.raises(SigningError) as exc:
        load_signing_key()
    shown += [exc.value.diagnostics(),
              "".join(traceback.format_exception(exc.value))]
    for s in shown:
        for marker in markers:
            assert marker not in s
    assert k.key.fingerprint in repr(k.key)
    with pytest.raises(TypeError):
        pickle.dumps(k.key)


def test_demo_key_is_marked_and_exports_to_openssh(keydir):
    key = generate_demo_key()
    assert key.demo and "demo=True" in repr(key)
    assert generate_demo_key().fingerprint != key.fingerprint
    path = write_private(keydir / "demo", export_openssh(key))
    public = ssh_keygen("-y", "-f", path, check=True).stdout.decode().split()
    assert " ".join(public[:2]) == key.public_openssh
    assert ssh_keygen("-lf", path, check=True).stdout.decode().split()[1] == key.fingerprint
    assert not load_signing_key(path).demo  # a key from a file is a real key


@pytest.mark.parametrize("line", [
    "", "ssh-ed25519", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "ssh-ed25519 !!!",
    "ssh-ed25519 AAAAC3NzaC1yc2EAAAADAQABAAABAQ==",  # wrong inner type
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBAAAA==",  # truncated key
])
def test_malformed_public_keys(line):
    with pytest.raises(InputError):
        public_key_fingerprint(line)


def test_normalize_public_key_drops_comment():
    key = generate_demo_key()
    assert normalize_public_key(f"  {key.public_openssh}  me@host  ") == key.public_openssh
