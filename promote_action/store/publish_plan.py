"""What `promote --publish-to URI` will write: one destination per verified artifact.

Planning is pure (no store is contacted), so the policy judges the exact destination URIs
before anything is read or written, and `--dry-run` lists every copy from the same plan.

Layout: `<URI>/<dataset_slug>/<dataset_version_id>/<relative path>`. A workspace artifact
keeps its workspace path (`processed/gauges.csv`); an artifact already in object storage
keeps its key below the deepest folder that all of the version's remote artifacts share
(`s3://lake/work/gauges/run-7/tiles/a.tif` and `.../run-7/gauges.parquet` become
`tiles/a.tif` and `gauges.parquet`), so a pipeline's own folder structure survives and a
run folder name never leaks into the published layout. Two artifacts that would land on
the same key are refused (exit 2) rather than one silently replacing the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from promote_action.errors import InputError
from promote_action.store.uri import ObjectURI, is_uri, parse_uri

STAGING = ".kfm-staging"  # below the publish root, never inside a version prefix


@dataclass(frozen=True)
class Source:
    """One verified artifact: where its bytes are now and what they must hash to."""

    path: str  # as the spec names it: a workspace path or an object URI
    digest: str  # sha256:<hex>, recomputed by the gates
    size: int
    media_type: str = ""
    etag: str | None = None  # the pin taken when the gates hashed a remote object
    version: str | None = None


@dataclass(frozen=True)
class PublishItem:
    source: Source
    rel: str  # relative path below the version prefix
    dest: ObjectURI

    def to_json(self) -> dict[str, Any]:
        return {"path": self.source.path, "uri": self.dest.uri, "digest": self.source.digest}


@dataclass(frozen=True)
class PublishPlan:
    root: ObjectURI  # --publish-to, normalised
    prefix: ObjectURI  # <root>/<slug>/<version>
    items: tuple[PublishItem, ...]
    slug: str
    version: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def prefix_uri(self) -> str:
        """The published prefix as documents name it: always ends with `/`."""
        return self.prefix.uri.rstrip("/") + "/"

    def capsule(self) -> dict[str, Any]:
        """The capsule's `publish` section: the policy allows each destination."""
        return {"to": self.root.uri, "objects": [i.to_json() for i in self.items]}

    def uri_of(self, path: str) -> str:
        for item in self.items:
            if item.source.path == path:
                return item.dest.uri
        raise KeyError(path)


def parse_root(text: str, *, allow_http: bool = False) -> ObjectURI:
    """`--publish-to`: an object-store prefix (no query, no traversal), exit 2 otherwise."""
    root = parse_uri(text, field="--publish-to", allow_http=allow_http, prefix=True)
    if not root.container and root.scheme != "file":
        raise InputError(f"--publish-to {text!r}: no bucket or container")
    return root


def relative_paths(paths: Sequence[str]) -> dict[str, str]:
    """Each artifact's path below the version prefix (see the module docstring)."""
    remote = {p: parse_uri(p, field="/artifacts", allow_http=True) for p in paths if is_uri(p)}
    common = _common_folder([u.key for u in remote.values()])
    out: dict[str, str] = {}
    for p in paths:
        rel = remote[p].key[len(common):] if p in remote else p
        out[p] = rel
    seen: dict[str, str] = {}
    for p, rel in out.items():
        folded = rel.casefold()
        if folded in seen and seen[folded] != p:
            raise InputError(f"artifacts {seen[folded]!r} and {p!r} would both be published "
                             f"as {rel!r}", field="--publish-to")
        seen[folded] = p
    return out


def _common_folder(keys: Sequence[str]) -> str:
    """The deepest `a/b/` folder every key lies in ('' when they share none)."""
    if not keys:
        return ""
    split = [k.split("/")[:-1] for k in keys]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "".join(f"{c}/" for c in common)


def plan_publish(root: ObjectURI, slug: str, version: str,
                 sources: Sequence[Source]) -> PublishPlan:
    """Map every source to `<root>/<slug>/<version>/<rel>`; keys are validated by
    `ObjectURI.child`, so a path from a document cannot climb out of the prefix."""
    prefix = root.child(f"{slug}/{version}")
    rels = relative_paths([s.path for s in sources])
    items = tuple(sorted((PublishItem(s, rels[s.path], prefix.child(rels[s.path]))
                          for s in sources), key=lambda i: i.rel))
    return PublishPlan(root, prefix, items, slug, version)


__all__ = ["STAGING", "PublishItem", "PublishPlan", "Source", "parse_root", "plan_publish",
           "relative_paths"]
