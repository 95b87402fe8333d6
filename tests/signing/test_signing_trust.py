"""The trust root: time windows, namespaces, revocation, parse errors — and OpenSSH agrees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from signing_support import ssh_keygen

from promote_action.errors import InputError, MissingFileError
from promote_action.signing.dsse import sign_envelope
from promote_action.signing.errors import SignatureError
from promote_action.signing.sshsig import sshsig_sign
from promote_action.signing.trust import TrustRoot, match_pattern_list, parse_time

REPO = Path(__file__).resolve().parents[2]
DATA = b"ledger entry\n"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = datetime(2024, 12, 31, tzinfo=UTC)


def _root(tmp_path: Path, text: str, revoked: str | None = None) -> TrustRoot:
    (tmp_path / "allowed_signers").write_text(text)
    rpath = None
    if revoked is not None:
        rpath = tmp_path / "revoked_signers"
        rpath.write_text(revoked)
    return TrustRoot.load(tmp_path / "allowed_signers", rpath)


def _openssh_accepts(tmp_path: Path, key, at: datetime, namespace: str = "git",
                     revoked: bool = False) -> bool:
    sig = tmp_path / "data.sig"
    sig.write_text(sshsig_sign(key, DATA, namespace) + "\n")
    extra = ["-r", tmp_path / "revoked_signers"] if revoked else []
    proc = ssh_keygen("-Y", "verify", "-f", tmp_path / "allowed_signers", "-I", "ledger@kfm",
                      "-n", namespace, "-s", sig,
                      f"-Overify-time={at.astimezone(UTC):%Y%m%d%H%M%S}", *extra, stdin=DATA)
    return proc.returncode == 0


WINDOW_TIMES = [T0 - timedelta(seconds=1), T0, T0 + timedelta(seconds=1),
                datetime(2024, 6, 1, 12, tzinfo=UTC), T1, T1 + timedelta(seconds=1)]


@pytest.mark.parametrize("suffix", ["", "Z"])
def test_time_window_matches_openssh(tmp_path, make_key, suffix):
    k = make_key()
    root = _root(tmp_path, f'ledger@kfm valid-after="20240101{suffix}",'
                           f'valid-before="20241231000000{suffix}" {k.public_line}\n')
    for at in WINDOW_TIMES:
        ours, why = root.is_trusted(k.public_line, at)
        assert ours == _openssh_accepts(tmp_path, k.key, at), at
        assert ours == (T0 <= at <= T1), at  # both bounds inclusive
        if not ours:
            assert ("not yet valid" if at < T0 else "expired") in why
            assert k.key.fingerprint in why and "line 1" in why


def test_aware_times_in_any_zone(tmp_path, make_key):
    k = make_key()
    root = _root(tmp_path, f'ledger@kfm valid-after="20240101Z" {k.public_line}\n')
    minus5 = timezone(timedelta(hours=-5))
    assert root.is_trusted(k.public_line, datetime(2023, 12, 31, 19, tzinfo=minus5))[0]
    assert not root.is_trusted(k.public_line, datetime(2023, 12, 31, 18, 59, tzinfo=minus5))[0]
    with pytest.raises(ValueError, match="timezone-aware"):
        root.is_trusted(k.public_line, datetime(2024, 6, 1))


def test_rotation_hands_over_at_the_boundary(tmp_path, make_key):
    old, new = make_key("old"), make_key("new")
    root = _root(tmp_path, f'ledger@kfm valid-before="20250101000500Z" {old.public_line}\n'
                           f'ledger@kfm valid-after="20250101Z" {new.public_line}\n')
    before, overlap = datetime(2024, 12, 31, tzinfo=UTC), datetime(2025, 1, 1, 0, 2, tzinfo=UTC)
    after = datetime(2025, 6, 1, tzinfo=UTC)
    expected = {before: (True, False), overlap: (True, True), after: (False, True)}
    for at, (old_ok, new_ok) in expected.items():
        assert root.is_trusted(old.public_line, at)[0] is old_ok
        assert root.is_trusted(new.public_line, at)[0] is new_ok
        assert _openssh_accepts(tmp_path, old.key, at) is old_ok
        assert _openssh_accepts(tmp_path, new.key, at) is new_ok


def test_revoked_key_is_never_trusted(tmp_path, make_key):
    k, other = make_key("a"), make_key("b")
    root = _root(tmp_path, f"ledger@kfm {k.public_line}\nledger@kfm {other.public_line}\n",
                 revoked=f"# compromised 2024-05-01\n{k.public_line} incident-42\n")
    ok, why = root.is_trusted(k.public_line, T0)
    assert not ok and "revoked" in why and "revoked_signers: line 2" in why
    assert root.is_trusted(other.public_line, T0) == (True, "")
    assert root.public_keys() == [other.public_line]
    # The same file is a valid OpenSSH revocation list.
    assert not _openssh_accepts(tmp_path, k.key, T0, revoked=True)
    assert _openssh_accepts(tmp_path, other.key, T0, revoked=True)


@pytest.mark.parametrize(("namespaces", "git_ok"), [
    ('"file"', False), ('"git"', True), ('"file,git"', True), ('"*"', True),
    ('"*,!git"', False), ('"gi?"', True),
])
def test_namespace_restriction_matches_openssh(tmp_path, make_key, namespaces, git_ok):
    k = make_key()
    root = _root(tmp_path, f"ledger@kfm namespaces={namespaces} {k.public_line}\n")
    ok, why = root.is_trusted(k.public_line, T0, "git")
    assert ok is git_ok
    assert _openssh_accepts(tmp_path, k.key, T0, "git") is git_ok
    if not ok:
        assert "namespace 'git'" in why


def test_unknown_key_and_principals(tmp_path, make_key):
    k, stranger = make_key("a"), make_key("b")
    root = _root(tmp_path, f"ledger@kfm,ops-*@kfm {k.public_line}\n")
    ok, why = root.is_trusted(stranger.public_line, T0)
    assert not ok and "not in" in why and stranger.key.fingerprint in why
    assert root.is_trusted(k.public_line, T0, principal="ops-7@kfm")[0]
    assert not root.is_trusted(k.public_line, T0, principal="dev@kfm")[0]
    assert root.principals_for(k.public_line + " c") == ["ledger@kfm", "ops-*@kfm"]


def test_verify_helpers_combine_signature_and_trust(tmp_path, make_key):
    k = make_key()
    root = _root(tmp_path, f'ledger@kfm valid-before="20241231Z" {k.public_line}\n')
    sig = sshsig_sign(k.key, DATA)
    assert root.verify_sshsig(sig, DATA, T0) == k.public_line
    with pytest.raises(SignatureError, match="expired"):
        root.verify_sshsig(sig, DATA, datetime(2025, 1, 2, tzinfo=UTC))
    env = sign_envelope(k.key, "application/x-test", DATA)
    assert root.verify_envelope(env, T0) == (DATA, k.public_line)
    with pytest.raises(SignatureError, match="expired"):
        root.verify_envelope(env, datetime(2025, 1, 2, tzinfo=UTC))


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHw4sv4SXd9xxQGJZ6d9o1SxXq6avAyoUZSVAUG+f0G0"


@pytest.mark.parametrize(("line", "message"), [
    (KEY, "principals field is missing"),
    (f"a cert-authority {KEY}", "cert-authority is not supported"),
    (f'a permit-pty="x" {KEY}', "unknown option"),
    (f"a namespaces=git {KEY}", "double-quoted"),
    (f'a valid-after="2024-01-01" {KEY}', "YYYYMMDD"),
    (f'a valid-after="20240101",valid-before="20230101" {KEY}', "later than"),
    (f'a namespaces="" {KEY}', "allows nothing"),
    (f'a namespaces="git {KEY}', "unterminated"),
    ("a ssh-ed25519 AAAA!!", "malformed"),
    ("a ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7", "only ssh-ed25519"),
    ("a", "expected: principals"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, message):
    text = f"# trust root\n\nok@kfm {KEY}\n{line}\n"
    with pytest.raises(InputError, match=message) as exc:
        _root(tmp_path, text)
    assert exc.value.diagnostics().startswith(f"{tmp_path / 'allowed_signers'}: line 4: ")


def test_bad_revocation_and_missing_files(tmp_path):
    with pytest.raises(InputError) as exc:
        _root(tmp_path, f"a {KEY}\n", revoked="ssh-ed25519 nope\n")
    assert "revoked_signers: line 1" in exc.value.diagnostics()
    with pytest.raises(InputError, match="no allowed signers"):
        _root(tmp_path, "# nothing here\n")
    with pytest.raises(MissingFileError):
        TrustRoot.load(tmp_path / "missing")
    with pytest.raises(MissingFileError):
        TrustRoot.load(tmp_path / "allowed_signers", tmp_path / "missing_revoked")


def test_parse_from_text_as_read_from_git():
    root = TrustRoot.parse(f"a {KEY}\n", source="ledger/allowed_signers@main",
                           revoked_text=f"{KEY}\n", revoked_source="ledger/revoked_signers@main")
    ok, why = root.is_trusted(KEY, T0)
    assert not ok and "ledger/revoked_signers@main: line 1" in why


def test_example_file_parses_and_means_what_it_says():
    root = TrustRoot.load(REPO / "ledger" / "allowed_signers.example")
    retired, current = root.signers[0].public_key, root.signers[1].public_key
    at_2024, at_2026 = datetime(2024, 7, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert root.is_trusted(retired, at_2024)[0] and not root.is_trusted(retired, at_2026)[0]
    assert root.is_trusted(current, at_2026)[0] and not root.is_trusted(current, at_2024)[0]
    assert not root.is_trusted(current, at_2026, namespace="file")[0]


@pytest.mark.parametrize(("text", "expected"), [
    ("20240102", datetime(2024, 1, 2, tzinfo=UTC)),
    ("202401021314Z", datetime(2024, 1, 2, 13, 14, tzinfo=UTC)),
    ("20240102131415", datetime(2024, 1, 2, 13, 14, 15, tzinfo=UTC)),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["2024010", "2024010213", "20241301", "20240102z", ""])
def test_parse_time_rejects(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_pattern_list():
    assert match_pattern_list("git", ["file", "g*"])
    assert not match_pattern_list("git", ["*", "!git"])
    assert not match_pattern_list("git.x", ["git"])
    assert match_pattern_list("a.b", ["a.b"]) and not match_pattern_list("axb", ["a.b"])
