"""SSH-signed git commits and tags, written with pygit2 and verifiable by plain git.

Signing in-process (instead of shelling out to `git commit -S`) means no key file on
disk, no ssh-agent and byte-stable objects. Nothing here moves a ref: the ledger does its
own compare-and-swap ref updates, so a signed object that loses a race is just garbage.
After writing, every object is read back and its signature re-verified, so we never hand
out an object that git itself would reject.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import cast

import pygit2
from pygit2.enums import ObjectType

from promote_action.errors import InputError, SigningError

from .errors import SignatureError
from .keys import SigningKey
from .sshsig import BEGIN, sshsig_sign, sshsig_verify
from .trust import TrustRoot

NAMESPACE = "git"
# git's parse_signed_buffer: the signature starts at the LAST line opening with one of these.
_SIG_STARTS = (b"-----BEGIN PGP SIGNATURE-----", b"-----BEGIN PGP MESSAGE-----",
               b"-----BEGIN SIGNED MESSAGE-----", BEGIN.encode())
_BAD_IDENT = re.compile(r"[<>\n\x00]")


def create_signed_commit(repo: pygit2.Repository, key: SigningKey, *, tree: pygit2.Oid,
                         parents: list[pygit2.Oid], message: str,
                         author: pygit2.Signature, committer: pygit2.Signature) -> pygit2.Oid:
    """Write a commit signed with `key` (sshsig, namespace "git"); returns its id."""
    _check_ident(author, "author")
    _check_ident(committer, "committer")
    ids: list[str | pygit2.Oid] = list(parents)
    # pygit2's stub says Oid, the C function returns the raw commit text.
    content = cast(str, repo.create_commit_string(author, committer, message, tree, ids))
    payload = content.encode("utf-8")
    signature = sshsig_sign(key, payload, NAMESPACE).rstrip("\n")
    oid = repo.create_commit_with_signature(content, signature)
    found = commit_signature(repo, oid)
    if found is None or found[1] != payload or found[0].rstrip("\n") != signature:
        raise SigningError(f"libgit2 did not store the commit signature intact ({oid})")
    return oid


def commit_signature(repo: pygit2.Repository, oid: pygit2.Oid | str) -> tuple[str, bytes] | None:
    """(armored signature, signed payload) of a commit, or None when it is unsigned."""
    obj = _lookup(repo, oid)
    if not isinstance(obj, pygit2.Commit):
        raise InputError(f"{oid} is not a commit")
    sig, payload = obj.gpg_signature
    if sig is None or payload is None:
        return None
    try:
        return sig.decode("ascii"), payload
    except UnicodeDecodeError:
        raise SignatureError(f"commit {obj.id} carries a non-ASCII signature") from None


def _lookup(repo: pygit2.Repository, oid: pygit2.Oid | str) -> pygit2.Object | None:
    try:
        return repo.get(oid) if not isinstance(oid, str) else repo.revparse_single(oid)
    except (KeyError, ValueError, pygit2.GitError):
        raise InputError(f"{str(oid)[:80]!r} does not name a git object") from None


def _check_ident(sig: pygit2.Signature, role: str) -> None:
    # A newline in a name would inject a header line into the signed object.
    if _BAD_IDENT.search(sig.name) or _BAD_IDENT.search(sig.email):
        raise InputError(f"{role} name/email must not contain '<', '>', NUL or newlines")


def _format_ident(sig: pygit2.Signature) -> str:
    _check_ident(sig, "tagger")
    sign = "-" if sig.offset < 0 else "+"
    hours, minutes = divmod(abs(sig.offset), 60)
    return f"{sig.name} <{sig.email}> {sig.time} {sign}{hours:02d}{minutes:02d}"


def tag_payload(repo: pygit2.Repository, *, name: str, target: pygit2.Oid, message: str,
                tagger: pygit2.Signature) -> bytes:
    """The unsigned tag object body exactly as `git tag -s` would sign it."""
    if not pygit2.reference_is_valid_name(f"refs/tags/{name}"):
        raise InputError(f"invalid tag name {name!r}")
    obj = repo.get(target)
    if obj is None:
        raise InputError(f"tag target {target} does not exist")
    if any(line.encode().startswith(_SIG_STARTS) for line in message.split("\n")):
        raise InputError("tag message must not contain a signature armor line")
    body = message if message.endswith("\n") else message + "\n"
    header = (f"object {obj.id}\ntype {obj.type_str}\ntag {name}\n"
              f"tagger {_format_ident(tagger)}\n\n")
    return (header + body).encode("utf-8")


def create_signed_tag(repo: pygit2.Repository, key: SigningKey, *, name: str,
                      target: pygit2.Oid, message: str, tagger: pygit2.Signature) -> pygit2.Oid:
    """Write an annotated tag object signed like `git tag -s` with gpg.format=ssh.

    git appends the armored signature (newline-terminated) to the message; `git
    verify-tag` splits it off again at the last armor line. The ref is not created.
    """
    payload = tag_payload(repo, name=name, target=target, message=message, tagger=tagger)
    signature = sshsig_sign(key, payload, NAMESPACE)
    oid = repo.odb.write(ObjectType.TAG, payload + signature.encode("ascii") + b"\n")
    oid = pygit2.Oid(hex=str(oid)) if not isinstance(oid, pygit2.Oid) else oid
    found = tag_signature(repo, oid)
    if found is None or found[1] != payload:
        raise SigningError(f"tag signature was not stored intact ({oid})")
    return oid


def tag_signature(repo: pygit2.Repository, oid: pygit2.Oid | str) -> tuple[str, bytes] | None:
    """(armored signature, signed payload) of an annotated tag, or None when unsigned."""
    obj = _lookup(repo, oid)
    if obj is None or obj.type != ObjectType.TAG:
        raise InputError(f"{oid} is not a tag object")
    return split_tag_signature(repo.odb.read(obj.id)[1], str(obj.id))


def split_tag_signature(data: bytes, what: str) -> tuple[str, bytes] | None:
    """(armored signature, signed payload) of raw tag object bytes, or None when unsigned."""
    start = _signature_start(data)
    if start is None:
        return None
    try:
        return data[start:].decode("ascii"), data[:start]
    except UnicodeDecodeError:
        raise SignatureError(f"tag {what} carries a non-ASCII signature") from None


def _signature_start(data: bytes) -> int | None:
    start, pos = None, 0
    while pos < len(data):
        if data.startswith(_SIG_STARTS, pos):
            start = pos
        nl = data.find(b"\n", pos)
        pos = len(data) if nl < 0 else nl + 1
    return start


def verify_object_signature(found: tuple[str, bytes] | None, what: str) -> str:
    """Signer line of a (signature, payload) pair from commit/tag_signature; unsigned fails."""
    if found is None:
        raise SignatureError(f"{what} is not signed")
    return sshsig_verify(found[0], found[1], NAMESPACE)


def verify_commit(repo: pygit2.Repository, oid: pygit2.Oid | str, trust: TrustRoot) -> str:
    """Signer of a commit trusted at its committer time, as `git verify-commit` judges it.

    git passes the committer time to `ssh-keygen -Overify-time`, so a key rotated out
    later still vouches for what it signed while it was valid.
    """
    commit = _lookup(repo, oid)
    if not isinstance(commit, pygit2.Commit):
        raise InputError(f"{oid} is not a commit")
    found = commit_signature(repo, commit.id)
    if found is None:
        raise SignatureError(f"commit {commit.id} is not signed")
    at = datetime.fromtimestamp(commit.commit_time, UTC)
    return trust.verify_sshsig(found[0], found[1], at, NAMESPACE)


def verify_tag(repo: pygit2.Repository, oid: pygit2.Oid | str, trust: TrustRoot) -> str:
    """Signer of an annotated tag trusted at its tagger time (as `git verify-tag`)."""
    tag = _lookup(repo, oid)
    if not isinstance(tag, pygit2.Tag) or tag.tagger is None:
        raise InputError(f"{oid} is not an annotated tag with a tagger")
    found = tag_signature(repo, tag.id)
    if found is None:
        raise SignatureError(f"tag {tag.id} is not signed")
    at = datetime.fromtimestamp(tag.tagger.time, UTC)
    return trust.verify_sshsig(found[0], found[1], at, NAMESPACE)
