"""Where `verify` and the writers get the trust root: the DEFAULT branch's tree.

`ledger/allowed_signers` and `ledger/revoked_signers` change only through reviewed pull
requests, so the copy that counts is the one committed on the default branch. Reading
the worktree instead would let a pull-request checkout (or anyone who edits a file
locally) vouch for its own key; reading the ledger branch would let the ledger vouch for
itself. Files are read as blobs with pygit2, so nothing is checked out.

Branch resolution, first hit wins: `refs/heads/<name>`, then (for the default name
only) the remote's HEAD, then `refs/remotes/<remote>/<name>`. An auditor may still pass
their own files (`--allowed-signers`, `--revoked-signers`), which override the branch.

The writers (`promote`, `ledger init`, `quarantine`) read the very same trust root, with
the same flags, and refuse before writing anything to sign with a key that `verify`
would later reject at the commit's time: the ledger never accepts an entry its auditors
cannot accept. With no trust root at all they refuse too (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2

from promote_action.errors import InputError, MissingFileError, SigningError
from promote_action.signing.trust import MAX_TRUST_FILE_BYTES, TrustRoot, read_trust_file

ALLOWED = "ledger/allowed_signers"
REVOKED = "ledger/revoked_signers"
DEFAULT_TRUST_BRANCH = "main"
MAX_BYTES = MAX_TRUST_FILE_BYTES


def find_trust_commit(repo: pygit2.Repository, branch: str | None, remote: str | None
                      ) -> tuple[str, pygit2.Commit] | None:
    """(ref name, commit) of the default branch, or None when there is none."""
    name = branch or DEFAULT_TRUST_BRANCH
    remote = remote or "origin"
    candidates = [f"refs/heads/{name}"]
    if branch is None:
        candidates.append(f"refs/remotes/{remote}/HEAD")
    candidates.append(f"refs/remotes/{remote}/{name}")
    for ref in candidates:
        try:
            target = repo.references[ref].resolve()
            return target.name, repo[target.target].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            continue
    return None


def _blob_text(repo: pygit2.Repository, commit: pygit2.Commit, path: str, where: str
               ) -> str | None:
    try:
        entry = commit.tree[path]
    except KeyError:
        return None
    if entry.type != pygit2.enums.ObjectType.BLOB:
        raise InputError("trust file is not a regular file", file=where)
    blob = repo.get(entry.id)
    if not isinstance(blob, pygit2.Blob):
        raise InputError("trust file is not a regular file", file=where)
    data = blob.data
    if len(data) > MAX_BYTES:
        raise InputError("file is too large for a trust file", file=where)
    try:
        return data.decode("utf-8")  # type: ignore[no-any-return]
    except UnicodeDecodeError:
        raise InputError("trust file is not UTF-8", file=where) from None


def load_trust_root(repo: pygit2.Repository, *, allowed_file: Path | None = None,
                    revoked_file: Path | None = None, branch: str | None = None,
                    remote: str | None = None) -> tuple[TrustRoot, str]:
    """(TrustRoot, description of where it came from). Files given override the branch;
    without `allowed_file` the default branch must exist and hold `ledger/allowed_signers`
    (exit 2 otherwise). Revocations come from the file given, else from the branch."""
    found = find_trust_commit(repo, branch, remote)
    if allowed_file is None and found is None:
        wanted = branch or f"{DEFAULT_TRUST_BRANCH} (or {remote or 'origin'}/HEAD)"
        raise InputError(f"no default branch {wanted} to read the trust root from; pass "
                         "--trust-branch NAME or --allowed-signers FILE",
                         field="--trust-branch")
    if allowed_file is not None:
        allowed_text, allowed_src = read_trust_file(allowed_file), str(allowed_file)
    else:
        assert found is not None
        allowed_src = f"{found[0]}:{ALLOWED}"
        text = _blob_text(repo, found[1], ALLOWED, allowed_src)
        if text is None:
            raise MissingFileError("the default branch has no trust root (commit "
                                   f"{ALLOWED} through a reviewed PR, or pass "
                                   "--allowed-signers FILE)", file=allowed_src)
        allowed_text = text
    revoked_text: str | None = None
    revoked_src: str | None = None
    if revoked_file is not None:
        revoked_text, revoked_src = read_trust_file(revoked_file), str(revoked_file)
    elif found is not None:
        revoked_src = f"{found[0]}:{REVOKED}"
        revoked_text = _blob_text(repo, found[1], REVOKED, revoked_src)
        if revoked_text is None:
            revoked_src = None
    trust = TrustRoot.parse(allowed_text, source=allowed_src, revoked_text=revoked_text,
                            revoked_source=revoked_src)
    where = allowed_src + (f" + {revoked_src}" if revoked_src else "")
    return trust, where


@dataclass(frozen=True)
class TrustSource:
    """Where a writer reads its trust root: the `verify` flags, same defaults."""

    branch: str | None = None
    allowed_signers: Path | None = None
    revoked_signers: Path | None = None

    def load(self, repo: pygit2.Repository, remote: str | None) -> tuple[TrustRoot, str]:
        return load_trust_root(repo, allowed_file=self.allowed_signers,
                               revoked_file=self.revoked_signers, branch=self.branch,
                               remote=remote)


def require_trusted_signer(trust: TrustRoot, where: str, key: Any, at: str) -> None:
    """Refuse (exit 2) to sign at `at` (the time the commit will carry) with a key that
    the trust root does not admit for namespace `git` then, or that it revokes."""
    from promote_action.ledger.append import git_time

    seconds, _offset = git_time(at)
    ok, why = trust.is_trusted_at_commit_time(key.public_openssh, seconds, "git")
    if not ok:
        raise SigningError(f"refusing to sign at {at}: {why}; nothing was written "
                           "(verify would reject the commit)", file=where)
