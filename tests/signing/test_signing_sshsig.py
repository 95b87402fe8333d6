"""sshsig against the real ssh-keygen, in both directions, byte for byte."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from signing_support import allowed_signers, ssh_keygen

from promote_action.signing._wire import ssh_string
from promote_action.signing.errors import SignatureError
from promote_action.signing.keys import generate_demo_key
from promote_action.signing.sshsig import BEGIN, END, armor, dearmor, sshsig_sign, sshsig_verify

DATA = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nledger entry 1\n"


def verify_with_ssh_keygen(tmp_path: Path, signers: Path, sig: str, data: bytes,
                           principal: str = "ledger@kfm", namespace: str = "git",
                           *extra: str) -> tuple[int, str]:
    sig_file = tmp_path / "data.sig"
    sig_file.write_text(sig + "\n")
    proc = ssh_keygen("-Y", "verify", "-f", signers, "-I", principal, "-n", namespace,
                      "-s", sig_file, *extra, stdin=data)
    return proc.returncode, (proc.stdout + proc.stderr).decode()


@pytest.mark.parametrize("kind", ["ssh-keygen", "demo"])
def test_our_signature_verifies_with_ssh_keygen(tmp_path, make_key, kind):
    k = make_key(kind=kind)
    signers = allowed_signers(tmp_path / "allowed", ("ledger@kfm", k.public_line))
    sig = sshsig_sign(k.key, DATA)
    code, out = verify_with_ssh_keygen(tmp_path, signers, sig, DATA)
    assert code == 0, out
    assert f'Good "git" signature for ledger@kfm with ED25519 key {k.key.fingerprint}' in out
    assert sshsig_verify(sig, DATA, "git") == k.public_line


@pytest.mark.parametrize("kind", ["ssh-keygen", "demo"])
def test_signature_is_byte_identical_to_ssh_keygen(tmp_path, make_key, kind):
    k = make_key(kind=kind)
    data_file = tmp_path / "payload"
    data_file.write_bytes(DATA)
    ssh_keygen("-Y", "sign", "-f", k.private_path, "-n", "git", data_file, check=True)
    theirs = (tmp_path / "payload.sig").read_text()
    ours = sshsig_sign(k.key, DATA, "git")
    assert theirs == ours + "\n"  # git strips this newline; we never emit it
    assert all(len(line) <= 70 for line in ours.splitlines())
    assert sshsig_sign(k.key, DATA, "git") == ours  # Ed25519: deterministic


def test_ssh_keygen_rejects_tampering(tmp_path, make_key):
    k, other = make_key("a"), make_key("b")
    signers = allowed_signers(tmp_path / "allowed", ("ledger@kfm", k.public_line))
    sig = sshsig_sign(k.key, DATA)
    assert verify_with_ssh_keygen(tmp_path, signers, sig, DATA + b"x")[0] != 0
    assert verify_with_ssh_keygen(tmp_path, signers, sig, DATA, "ledger@kfm", "file")[0] != 0
    assert verify_with_ssh_keygen(tmp_path, signers, sshsig_sign(k.key, DATA, "file"),
                                  DATA)[0] != 0
    assert verify_with_ssh_keygen(tmp_path, signers, sshsig_sign(other.key, DATA), DATA)[0] != 0
    assert verify_with_ssh_keygen(tmp_path, signers, sig, DATA, "someone@else")[0] != 0
    # ...and our verifier agrees on the cases it can judge alone (who signed is TrustRoot's).
    with pytest.raises(SignatureError, match="does not match"):
        sshsig_verify(sig, DATA + b"x", "git")
    with pytest.raises(SignatureError, match="namespace"):
        sshsig_verify(sig, DATA, "file")
    assert sshsig_verify(sshsig_sign(other.key, DATA), DATA, "git") == other.public_line


@pytest.mark.parametrize("hashalg", ["sha512", "sha256"])
def test_ssh_keygen_signature_verifies_with_ours(tmp_path, make_key, hashalg):
    k = make_key()
    data_file = tmp_path / "payload"
    data_file.write_bytes(DATA)
    ssh_keygen("-Y", "sign", "-f", k.private_path, "-n", "git", "-O", f"hashalg={hashalg}",
               data_file, check=True)
    sig = (tmp_path / "payload.sig").read_text()
    assert sshsig_verify(sig, DATA, "git") == k.public_line
    with pytest.raises(SignatureError):
        sshsig_verify(sig, DATA[:-1], "git")
    with pytest.raises(SignatureError, match="namespace"):
        sshsig_verify(sig, DATA, "file")


def test_non_ed25519_signature_is_refused(tmp_path, make_key):
    rsa = tmp_path / "keys" / "rsa"
    ssh_keygen("-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa, check=True)
    data_file = tmp_path / "payload"
    data_file.write_bytes(DATA)
    ssh_keygen("-Y", "sign", "-f", rsa, "-n", "git", data_file, check=True)
    with pytest.raises(SignatureError):
        sshsig_verify((tmp_path / "payload.sig").read_text(), DATA, "git")


def _fields(sig: str) -> list[bytes]:
    blob = dearmor(sig)
    assert blob[:6] == b"SSHSIG"
    pos, out = 10, []
    while pos < len(blob):
        (n,) = struct.unpack(">I", blob[pos:pos + 4])
        out.append(blob[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out  # pubkey, namespace, reserved, hash_alg, signature


def _rebuild(fields: list[bytes], version: int = 1, magic: bytes = b"SSHSIG",
             tail: bytes = b"") -> str:
    return armor(magic + struct.pack(">I", version) + b"".join(map(ssh_string, fields)) + tail)


def test_malformed_signatures_are_refused(make_key):
    k = make_key()
    sig = sshsig_sign(k.key, DATA)
    fields = _fields(sig)
    assert _rebuild(fields) == sig  # the rebuild itself is faithful
    flipped = bytearray(fields[4])
    flipped[-1] ^= 1
    bad = {
        "version": _rebuild(fields, version=2),
        "magic": _rebuild(fields, magic=b"SSHSIX"),
        "trailing": _rebuild(fields, tail=b"\0"),
        "bitflip": _rebuild([*fields[:4], bytes(flipped)]),
        "hash": _rebuild([*fields[:3], b"md5", fields[4]]),
        "truncated": armor(dearmor(sig)[:-3]),
        "no-armor": sig.replace(BEGIN, ""),
        "no-end": sig.replace(END, ""),
        "bad-base64": sig.replace(sig.splitlines()[1][:4], "!!!!"),
        "empty": "",
    }
    for name, text in bad.items():
        try:
            sshsig_verify(text, DATA, "git")
        except SignatureError:
            continue
        pytest.fail(f"malformed signature accepted: {name}")
    with pytest.raises(SignatureError):
        sshsig_verify(sig, DATA, "")


def test_signature_blob_layout_matches_protocol(make_key):
    k = make_key()
    pub, namespace, reserved, hash_alg, sig = _fields(sshsig_sign(k.key, DATA, "git"))
    assert base64.b64encode(pub).decode() == k.public_line.split()[1]
    assert (namespace, reserved, hash_alg) == (b"git", b"", b"sha512")
    assert sig[:15] == ssh_string(b"ssh-ed25519") and len(sig) == 15 + 4 + 64


_PROPERTY_KEY = generate_demo_key()


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=256), namespace=st.text(min_size=1, max_size=20),
       flip=st.integers(min_value=0))
def test_round_trip_and_any_change_fails(data, namespace, flip):
    sig = sshsig_sign(_PROPERTY_KEY, data, namespace)
    assert sshsig_verify(sig, data, namespace) == _PROPERTY_KEY.public_openssh
    if data:
        changed = bytearray(data)
        changed[flip % len(data)] ^= 1 << (flip % 8)
        with pytest.raises(SignatureError):
            sshsig_verify(sig, bytes(changed), namespace)
    with pytest.raises(SignatureError):
        sshsig_verify(sig, data + b"\n", namespace)
