"""Signed commits and tags written with pygit2, judged by plain git."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from signing_support import allowed_signers, git

from promote_action.errors import InputError
from promote_action.signing.commit import (
    commit_signature,
    create_signed_commit,
    create_signed_tag,
    tag_signature,
    verify_object_signature,
)
from promote_action.signing.errors import SignatureError
from promote_action.signing.sshsig import sshsig_verify

WHEN = 1_700_000_000
BOT = pygit2.Signature("kfm-promote bot", "bot@kfm.example", WHEN, -90)


def _repo(path: Path) -> pygit2.Repository:
    return pygit2.init_repository(str(path), bare=True, initial_head="kfm-ledger")


def _tree(repo: pygit2.Repository, content: bytes = b"entry\n") -> pygit2.Oid:
    tb = repo.TreeBuilder()
    tb.insert("entry.json", repo.create_blob(content), pygit2.GIT_FILEMODE_BLOB)
    return tb.write()


def _commit(repo, key, parents=(), content=b"entry\n", message="ledger: entry 1\n",
            who=BOT) -> pygit2.Oid:
    return create_signed_commit(repo, key, tree=_tree(repo, content), parents=list(parents),
                                message=message, author=who, committer=who)


def _verify_commit(repo_path: Path, signers: Path, rev: str):
    return git(repo_path, "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}",
               "verify-commit", "-v", rev)


@pytest.mark.parametrize("kind", ["ssh-keygen", "demo"])
def test_git_verify_commit_accepts_our_commit(tmp_path, make_key, kind):
    k = make_key(kind=kind)
    repo = _repo(tmp_path / "ledger.git")
    first = _commit(repo, k.key, message="ledger: root ü\n\nbody\n")
    second = _commit(repo, k.key, [first], b"entry 2\n", "ledger: entry 2\n")
    repo.references.create("refs/heads/kfm-ledger", second)
    signers = allowed_signers(tmp_path / "allowed", ("ledger@kfm", k.public_line))
    for oid in (first, second):
        proc = _verify_commit(tmp_path / "ledger.git", signers, str(oid))
        assert proc.returncode == 0, proc.stderr
        assert 'Good "git" signature for ledger@kfm with ED25519 key' in proc.stderr
        assert k.key.fingerprint in proc.stderr
    log = git(tmp_path / "ledger.git", "-c", "gpg.format=ssh", "-c",
              f"gpg.ssh.allowedSignersFile={signers}", "log", "--show-signature",
              "kfm-ledger", check=True).stdout
    assert log.count('Good "git" signature for ledger@kfm') == 2
    assert git(tmp_path / "ledger.git", "fsck", "--strict").returncode == 0
    assert verify_object_signature(commit_signature(repo, second), "c") == k.public_line


def test_git_verify_commit_rejects_unknown_key(tmp_path, make_key):
    k, stranger = make_key("ledger"), make_key("stranger")
    repo = _repo(tmp_path / "ledger.git")
    oid = _commit(repo, stranger.key)
    signers = allowed_signers(tmp_path / "allowed", ("ledger@kfm", k.public_line))
    proc = _verify_commit(tmp_path / "ledger.git", signers, str(oid))
    assert proc.returncode != 0
    assert "No principal matched" in proc.stderr
    assert "signature for ledger@kfm" not in proc.stderr


def test_signed_commit_moves_no_ref_and_is_deterministic(tmp_path, make_key):
    k = make_key()
    a, b = _repo(tmp_path / "a.git"), _repo(tmp_path / "b.git")
    oid_a, oid_b = _commit(a, k.key), _commit(b, k.key)
    assert oid_a == oid_b  # same inputs, same key ⇒ same bytes, same id
    assert list(a.references) == []
    assert a.head_is_unborn


def test_signature_covers_the_whole_commit(tmp_path, make_key):
    """Reusing a signature on other content fails in git and in our verifier."""
    k = make_key()
    repo = _repo(tmp_path / "ledger.git")
    good = _commit(repo, k.key)
    armored, payload = commit_signature(repo, good)
    forged_content = payload.decode().replace("ledger: entry 1", "ledger: entry 9")
    forged = repo.create_commit_with_signature(forged_content, armored.rstrip("\n"))
    signers = allowed_signers(tmp_path / "allowed", ("ledger@kfm", k.public_line))
    assert _verify_commit(tmp_path / "ledger.git", signers, str(forged)).returncode != 0
    with pytest.raises(SignatureError):
        verify_object_signature(commit_signature(repo, forged), "forged")


def test_unsigned_commit_has_no_signature(tmp_path):
    repo = _repo(tmp_path / "ledger.git")
    oid = repo.create_commit(None, BOT, BOT, "unsigned\n", _tree(repo), [])
    assert commit_signature(repo, oid) is None
    with pytest.raises(SignatureError, match="not signed"):
        verify_object_signature(commit_signature(repo, oid), f"commit {oid}")
    with pytest.raises(InputError):
        commit_signature(repo, _tree(repo))


def test_commit_signed_by_git_itself_verifies_with_ours(tmp_path, make_key):
    k = make_key()
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main", check=True)
    (work / "f").write_text("x\n")
    git(work, "add", "f", check=True)
    git(work, "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "-c",
        "gpg.format=ssh", "-c", f"user.signingkey={k.private_path}", "commit", "-q", "-S",
        "-m", "signed by git", check=True)
    repo = pygit2.Repository(str(work))
    assert verify_object_signature(commit_signature(repo, "HEAD"), "HEAD") == k.public_line


@pytest.mark.parametrize("message", ["kfm/x released\n", "no trailing newline"])
def test_git_verify_tag_accepts_our_tag(tmp_path, make_key, message):
    k, stranger = make_key("ledger"), make_key("stranger")
    repo = _repo(tmp_path / "ledger.git")
    commit = _commit(repo, k.key)
    repo.references.create("refs/heads/kfm-ledger", commit)
    name = "kfm/kansas_river_gauges/2024.1.0a1b2c3d4e5f6"
    tag = create_signed_tag(repo, k.key, name=name, target=commit, message=message,
                            tagger=BOT)
    assert repo.references.get(f"refs/tags/{name}") is None  # no ref until the caller CASes
    repo.references.create(f"refs/tags/{name}", tag)
    signers = allowed_signers(tmp_path / "allowed", ("ledger@kfm", k.public_line))
    cfg = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}"]
    proc = git(tmp_path / "ledger.git", *cfg, "verify-tag", "-v", name)
    assert proc.returncode == 0, proc.stderr
    assert 'Good "git" signature for ledger@kfm' in proc.stderr
    assert git(tmp_path / "ledger.git", "fsck", "--strict").returncode == 0
    assert git(tmp_path / "ledger.git", "cat-file", "-p", name, check=True).stdout.startswith(
        f"object {commit}\ntype commit\ntag {name}\ntagger kfm-promote bot <bot@kfm.example> "
        f"{WHEN} -0130\n")
    armored, payload = tag_signature(repo, tag)
    assert sshsig_verify(armored, payload, "git") == k.public_line
    # The same tag signed by an unknown key is rejected by git.
    bad = create_signed_tag(repo, stranger.key, name="other", target=commit, message=message,
                            tagger=BOT)
    repo.references.create("refs/tags/other", bad)
    assert git(tmp_path / "ledger.git", *cfg, "verify-tag", "other").returncode != 0


def test_tag_inputs_are_checked(tmp_path, make_key):
    k = make_key()
    repo = _repo(tmp_path / "ledger.git")
    commit = _commit(repo, k.key)
    with pytest.raises(InputError, match="tag name"):
        create_signed_tag(repo, k.key, name="bad..name", target=commit, message="m",
                          tagger=BOT)
    with pytest.raises(InputError, match="armor"):
        create_signed_tag(repo, k.key, name="ok", target=commit,
                          message="m\n-----BEGIN SSH SIGNATURE-----\n", tagger=BOT)
    evil = pygit2.Signature("a\nobject 0000", "x@y", WHEN, 0)  # header injection
    with pytest.raises(InputError, match="tagger"):
        create_signed_tag(repo, k.key, name="ok", target=commit, message="m", tagger=evil)
    unsigned = repo.create_tag("plain", commit, pygit2.enums.ObjectType.COMMIT, BOT, "m\n")
    assert tag_signature(repo, unsigned) is None


def test_commit_identity_cannot_inject_headers(tmp_path, make_key):
    k = make_key()
    repo = _repo(tmp_path / "ledger.git")
    evil = pygit2.Signature("bot\ngpgsig x", "bot@kfm.example", WHEN, 0)
    with pytest.raises(InputError, match="author"):
        _commit(repo, k.key, who=evil)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_trust_window_at_commit_time_agrees_with_git(tmp_path, make_key, offset):
    """git judges a commit at its committer time; so does verify_commit, to the second."""
    from promote_action.signing.commit import verify_commit, verify_tag
    from promote_action.signing.trust import TrustRoot

    k = make_key()
    repo = _repo(tmp_path / "ledger.git")
    who = pygit2.Signature("bot", "bot@kfm.example", WHEN + offset, 120)
    commit = _commit(repo, k.key, who=who)
    tag = create_signed_tag(repo, k.key, name="t", target=commit, message="m", tagger=who)
    repo.references.create("refs/tags/t", tag)
    # 1_700_000_000 is 2023-11-14T22:13:20Z: valid-before is exactly that second.
    signers = allowed_signers(tmp_path / "allowed",
                              ("ledger@kfm", k.public_line, 'valid-before="20231114221320Z"'))
    trust = TrustRoot.load(signers)
    git_ok = _verify_commit(tmp_path / "ledger.git", signers, str(commit)).returncode == 0
    cfg = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}"]
    tag_ok = git(tmp_path / "ledger.git", *cfg, "verify-tag", "t").returncode == 0
    assert git_ok is tag_ok is (offset <= 0)
    for check, oid in ((verify_commit, commit), (verify_tag, tag)):
        if git_ok:
            assert check(repo, oid, trust) == k.public_line
        else:
            with pytest.raises(SignatureError, match="expired"):
                check(repo, oid, trust)


def test_revocation_list_is_understood_by_git(tmp_path, make_key):
    """ledger/revoked_signers doubles as git's gpg.ssh.revocationFile, as TRUST.md says."""
    from promote_action.signing.commit import verify_commit
    from promote_action.signing.trust import TrustRoot

    k = make_key()
    repo = _repo(tmp_path / "ledger.git")
    oid = _commit(repo, k.key)
    signers = allowed_signers(tmp_path / "allowed", ("ledger@kfm", k.public_line))
    revoked = tmp_path / "revoked_signers"
    revoked.write_text(f"# leaked in incident 42\n{k.public_line} ci-2024\n")
    base = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}"]
    repo_dir = tmp_path / "ledger.git"
    assert git(repo_dir, *base, "verify-commit", str(oid)).returncode == 0
    assert git(repo_dir, *base, "-c", f"gpg.ssh.revocationFile={revoked}", "verify-commit",
               str(oid)).returncode != 0
    with pytest.raises(SignatureError, match="revoked"):
        verify_commit(repo, oid, TrustRoot.load(signers, revoked))
    assert verify_commit(repo, oid, TrustRoot.load(signers)) == k.public_line


def test_unknown_revision_is_an_input_error(tmp_path):
    repo = _repo(tmp_path / "ledger.git")
    for rev in ("no-such-branch", "0" * 40):
        with pytest.raises(InputError):
            commit_signature(repo, rev)
        with pytest.raises(InputError):
            tag_signature(repo, rev)
