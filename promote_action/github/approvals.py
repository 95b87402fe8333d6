"""Approvals from PR reviews: the latest review per reviewer, if APPROVED, by a steward.

Who is a steward comes from policy data (the base branch's), never from the PR: a
principal is `github:<login>`. Accepted shapes of `data.kfm.stewards` (or
`data.kfm.tables.stewards`): a list of principals; a list of `{principal, role|roles}`;
or a mapping principal -> role or [roles]. Roles default to "steward". Anything else
yields no stewards, so nothing is approved (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from promote_action.github.api import Review
from promote_action.policy.capsule import Approval


def steward_roles(policy_data: dict[str, Any]) -> dict[str, set[str]]:
    """principal -> roles, from policy data."""
    kfm = policy_data.get("kfm") if isinstance(policy_data, dict) else None
    if not isinstance(kfm, dict):
        return {}
    raw = kfm.get("stewards")
    if raw is None and isinstance(kfm.get("tables"), dict):
        raw = kfm["tables"].get("stewards")
    out: dict[str, set[str]] = {}

    def add(principal: Any, roles: Any) -> None:
        if not isinstance(principal, str) or not principal:
            return
        if roles is None:
            roles = ["steward"]
        if isinstance(roles, str):
            roles = [roles]
        if isinstance(roles, list):
            out.setdefault(principal, set()).update(r for r in roles if isinstance(r, str))

    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                add(item, None)
            elif isinstance(item, dict):
                add(item.get("principal"), item.get("roles", item.get("role")))
    elif isinstance(raw, dict):
        for principal, roles in raw.items():
            add(principal, roles.get("roles", roles.get("role")) if isinstance(roles, dict)
                else roles)
    return out


def latest_reviews(reviews: Iterable[Review]) -> dict[str, Review]:
    """Latest state-changing review per reviewer (COMMENTED reviews do not revoke)."""
    latest: dict[str, Review] = {}
    for r in sorted(reviews, key=lambda r: (r.submitted_at, r.review_id)):
        if not r.login or r.state.upper() in ("COMMENTED", "PENDING"):
            continue
        latest[r.login] = r
    return latest


def approvals_from_reviews(reviews: Iterable[Review], policy_data: dict[str, Any],
                           *, exclude: Iterable[str] = ()) -> list[Approval]:
    """Steward approvals, one per (reviewer, role); the PR author cannot approve their own."""
    roles = steward_roles(policy_data)
    skip = {e.lower() for e in exclude}
    out = []
    for login, review in sorted(latest_reviews(reviews).items()):
        if review.state.upper() != "APPROVED" or login.lower() in skip:
            continue
        principal = f"github:{login}"
        for role in sorted(roles.get(principal, ())):
            out.append(Approval(role=role, principal=principal,
                                approved_at=review.submitted_at))
    return out
