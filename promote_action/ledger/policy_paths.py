"""The allow-list of ledger destinations, read from the policy data (one source of truth).

`policy/data.json` → `kfm.tables.destinations` holds patterns such as
`datasets/{slug}/{version}/` (a trailing `/` means "anything under") or
`published/{slug}.json` (exact). The policy judges the destinations a promotion asks for;
the ledger writer and `verify` refuse any path outside the same list, so a bug on either
side cannot write elsewhere.
"""

from __future__ import annotations

from typing import Any

from promote_action.errors import LedgerError


def load_destinations(bundle_data: dict[str, Any] | None = None) -> list[str]:
    """The destinations table from a policy bundle's data (built-in policy by default)."""
    if bundle_data is None:
        from promote_action.policy.bundle import load_bundle

        bundle_data = load_bundle([]).data
    from promote_action.policy.bundle import table

    value = table(bundle_data, "destinations")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise LedgerError("policy data has no usable kfm.tables.destinations allow-list")
    return list(value)


def expand(pattern: str, slug: str, version: str) -> str:
    return pattern.replace("{slug}", slug).replace("{version}", version)


def allowed_for(path: str, patterns: list[str], slug: str, version: str) -> bool:
    """Is `path` (a ledger tree path or a `refs/...` name) on the allow-list?"""
    if ".." in path.split("/") or path.startswith("/") or "//" in path:
        return False
    for pattern in patterns:
        want = expand(pattern, slug, version)
        if want.endswith("/") and path.startswith(want) and len(path) > len(want):
            return True
        if path == want:
            return True
    return False


def require_allowed(paths: list[str], patterns: list[str], slug: str, version: str) -> None:
    bad = [p for p in paths if not allowed_for(p, patterns, slug, version)]
    if bad:
        raise LedgerError(f"refusing to write outside the allowed destinations: {bad[:5]}")


def requested_destinations(patterns: list[str], slug: str, version: str) -> list[str]:
    """What a promotion of (slug, version) asks the policy for: every pattern expanded.

    Concrete file names under a prefix (and the entry's seq) are only known on the tip,
    so the request names the prefixes; the writer re-checks every concrete path."""
    return [expand(p, slug, version) for p in patterns]
