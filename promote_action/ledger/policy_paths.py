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


def as_listed(path: str, slug: str, version: str, folder: str | None) -> str | None:
    """`path` as the allow-list names it. The patterns name a version's folder
    `datasets/{slug}/{version}/`; layout v3 stores a new version's folder two levels
    down, in its hash folders (`entry.version_dir`), so a path under `folder`, the
    version's actual folder, is judged as the same path under the listed one. A path
    under the version's *other* candidate folder is None (refused): a version has
    exactly one folder."""
    from promote_action.ledger.entry import fanned_version_dir, legacy_version_dir

    legacy = legacy_version_dir(slug, version) + "/"
    fanned = fanned_version_dir(slug, version)
    fanned = fanned + "/" if fanned else None
    actual = (folder + "/") if folder else legacy
    if fanned is not None and actual == fanned:
        if path.startswith(legacy):
            return None
        return legacy + path[len(fanned):] if path.startswith(fanned) else path
    if fanned is not None and path.startswith(fanned):
        return None
    return path


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
