"""The ledger branch: a signed, hash-chained, linear git history that is the audit log.

Only this package writes git objects and refs, only on the ledger branch and its
`kfm/<slug>/<version>` tags, and only to the destinations the policy allow-lists.
Layout and verification rules: `ledger/README.md` (also the root commit's README).
"""

from __future__ import annotations

from typing import Any

from promote_action.ledger.append import Event, create_root
from promote_action.ledger.entry import idempotency_key
from promote_action.ledger.writer import DEFAULT_BRANCH, LedgerTarget

__all__ = ["DEFAULT_BRANCH", "Event", "LedgerTarget", "init_ledger", "quarantine_event"]

QUARANTINE_REASONS = ("license_unclear", "sensitivity_unclear", "validation_failed",
                      "upstream_unstable", "security_issue", "takedown_request", "other")


def init_ledger(lt: LedgerTarget, key: Any, at: str) -> tuple[str, bool]:
    """Create the branch with its root commit (README only). Returns (tip, created)."""
    from promote_action.errors import LedgerContentionError
    from promote_action.ledger.store import open_repo

    lt.require_signer(key, at)
    target = lt.target()
    tip = target.fetch()
    if tip is not None:
        return tip, False
    root = create_root(open_repo(lt.repo_dir), key, at)
    if not target.land(None, str(root), []):
        tip = target.fetch()
        if tip is None:
            raise LedgerContentionError("could not create the ledger branch")
        return tip, False
    if lt.remote:
        from promote_action.ledger.push import git

        git(lt.repo_dir, "update-ref", lt.ref, str(root), check=False)
    return str(root), True


def quarantine_event(*, release: bool, slug: str, version: str, at: str, reason_code: str,
                     remediation: str, owner: str | None, due: str | None,
                     actor: dict[str, str], source: dict[str, Any]) -> Event:
    """A quarantine (or its release) of one dataset version, with reason and remediation."""
    type_ = "quarantine_release" if release else "quarantine"
    record = {"reason_code": reason_code, "remediation": remediation, "owner": owner,
              "due": due, "actor": actor}
    key = idempotency_key(type_, slug, version, f"{reason_code}@{at}",
                          source.get("merge_commit"))
    return Event(type_, slug, version, at, key,
                 {"quarantine": record, "source": source, "approvals": [],
                  "manifest_digest": None},
                 summary={"reason_codes": [reason_code], "approvals": []},
                 quarantine=None if release else {"reason_code": reason_code, "since": at},
                 touch_quarantine=True)
