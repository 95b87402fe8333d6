"""The signed tag of each promotion: it must be an annotated tag of the promotion's
commit, signed by a key the trust root allowed at the tagger's time. Split from
`checks.py`; the refs are read once per run (`tag_refs`), the objects by the checker.
"""

from __future__ import annotations

from typing import Any

import pygit2

from promote_action.errors import LedgerError
from promote_action.ledger.entry import tag_name
from promote_action.ledger.entry_checks import Bad

TAG_TYPE = pygit2.enums.ObjectType.TAG


def check_tag(checker: Any, tags: dict[str, str], slug: str, version: str,
              commit_id: pygit2.Oid) -> str:
    """Check the promotion's signed tag with `checker` (a `CommitChecker`: its object
    reads check ids, its trust decisions are cached); returns the tag object's id."""
    from promote_action.signing.commit import split_tag_signature
    from promote_action.signing.sshsig import sshsig_verify

    name = f"refs/tags/{tag_name(slug, version)}"
    found_hex = tags.get(name)
    if found_hex is None:
        raise Bad(f"signed tag {name} is missing")
    try:
        target = pygit2.Oid(hex=found_hex)
    except ValueError:
        raise Bad(f"{name} does not name a git object ({found_hex!r})") from None
    try:
        raw = checker.raw(target, TAG_TYPE, b"tag")
    except Bad:
        raise Bad(f"{name} is not an annotated, signed tag") from None
    pointed, when = tag_header(raw, name)
    if pointed != str(commit_id):
        raise Bad(f"{name} points at {pointed}, not at the promotion's commit")
    try:
        found = split_tag_signature(raw, str(target))
        if found is None:
            raise Bad(f"tag {name} is not signed")
        public = sshsig_verify(found[0], found[1], "git")
    except Bad:
        raise
    except Exception as e:  # noqa: BLE001 - any parse/verify failure is a finding
        raise Bad(f"bad signature on tag {name}: {e}") from None
    checker.trusted(public, when, f"tag {name}")
    return str(target)


def tag_refs(repo: pygit2.Repository) -> dict[str, str]:
    """Every kfm/ tag name -> the object it points at, read in one pass by git (a pygit2
    reference object per tag cost more than the rest of a short `verify --since`)."""
    from pathlib import Path

    from promote_action.ledger.push import git

    out = git(Path(repo.path), "for-each-ref", "--format=%(objectname) %(refname)",
              "refs/tags/kfm/").stdout
    words = out.split()  # git refuses whitespace in ref names: id, name, id, name, ...
    if len(words) % 2:
        raise LedgerError("git for-each-ref listed a kfm/ tag ref it could not name",
                          file=repo.path)
    return dict(zip(words[1::2], words[0::2], strict=True))


def tag_header(raw: bytes, name: str) -> tuple[str, int]:
    """(target commit id, tagger time) from an annotated tag's bytes, which must start
    with git's own header order: object, type commit, tag, tagger."""
    head = raw.split(b"\n\n", 1)[0].split(b"\n")
    try:
        if (len(head) < 4 or not head[0].startswith(b"object ") or head[1] != b"type commit"
                or not head[2].startswith(b"tag ") or not head[3].startswith(b"tagger ")):
            raise ValueError
        target = head[0][7:].decode("ascii")
        when = int(head[3].rsplit(b" ", 2)[1])
        if len(target) != 40 or when < 0:
            raise ValueError
    except (ValueError, IndexError, UnicodeDecodeError):
        raise Bad(f"{name} is not an annotated tag of a commit, with a tagger") from None
    return target, when


