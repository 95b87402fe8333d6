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


class Listed:
    """Paths as the allow-list names them. The patterns name a version's folder
    `datasets/{slug}/{version}/`; layout v3 stores a new version's folder two levels
    down, in its hash folders (`entry.version_dir`), so a path under `folder`, the
    version's actual folder, is judged as the same path under the listed one. A path
    under the version's *other* candidate folder maps to None (refused): a version has
    exactly one folder. Built once per entry: `verify` maps every path of every entry."""

    def __init__(self, slug: str, version: str, folder: str | None):
        from promote_action.ledger.entry import fanned_version_dir, legacy_version_dir

        self.legacy = legacy_version_dir(slug, version) + "/"
        fanned = fanned_version_dir(slug, version)
        self.fanned = fanned + "/" if fanned else None
        self.moved = self.fanned is not None and (folder + "/" if folder else "") == self.fanned

    def __call__(self, path: str) -> str | None:
        if self.fanned is None:
            return path
        if self.moved:
            if path.startswith(self.legacy):
                return None
            return self.legacy + path[len(self.fanned):] if path.startswith(self.fanned) \
                else path
        return None if path.startswith(self.fanned) else path


def as_listed(path: str, slug: str, version: str, folder: str | None) -> str | None:
    """`path` as the allow-list names it (`Listed`), for one path."""
    return Listed(slug, version, folder)(path)


def allowed_for(path: str, patterns: list[str], slug: str, version: str,
                folder: str | None = None) -> bool:
    """Is `path` (a ledger tree path or a `refs/...` name) on the allow-list? `folder`:
    the version's folder on the ledger (default `datasets/<slug>/<version>`)."""
    if ".." in path.split("/") or path.startswith("/") or "//" in path:
        return False
    listed = as_listed(path, slug, version, folder)
    if listed is None:
        return False
    for pattern in patterns:
        want = expand(pattern, slug, version)
        if want.endswith("/") and listed.startswith(want) and len(listed) > len(want):
            return True
        if listed == want:
            return True
    return False


def require_allowed(paths: list[str], patterns: list[str], slug: str, version: str,
                    folder: str | None = None) -> None:
    bad = [p for p in paths if not allowed_for(p, patterns, slug, version, folder)]
    if bad:
        raise LedgerError(f"refusing to write outside the allowed destinations: {bad[:5]}")


def requested_destinations(patterns: list[str], slug: str, version: str) -> list[str]:
    """What a promotion of (slug, version) asks the policy for: every pattern expanded.

    Concrete file names under a prefix (and the entry's seq) are only known on the tip,
    so the request names the prefixes; the writer re-checks every concrete path."""
    return [expand(p, slug, version) for p in patterns]
