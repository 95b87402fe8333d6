"""`promote --publish-to`: the publish step between the policy's allow and the ledger.

`PublishStep.request` runs inside the shared evaluation (after the gates, before the
capsule): it maps every verified artifact to its destination, and the resulting
`publish` section goes into the capsule, so the policy allows or denies the exact URIs
(`policy/publish.rego`, `data.kfm.publish_prefixes`). `execute` then copies (or, for a
dry run, lists) and re-verifies; only after it returns does the promotion build its
manifest, which names each published URI, and write the ledger commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promote_action.errors import InputError
from promote_action.store.errors import ObjectChangedError
from promote_action.store.publish import Outcome, PublishOptions, publish
from promote_action.store.publish_plan import PublishPlan, Source, parse_root, plan_publish
from promote_action.store.settings import StoreSettings
from promote_action.store.uri import ObjectURI, is_uri


@dataclass
class PublishStep:
    to: str
    slug: str
    version: str
    settings: StoreSettings
    plan: PublishPlan | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    root: ObjectURI | None = None

    def __post_init__(self) -> None:
        self.root = parse_root(self.to, allow_http=self.settings.allow_http)

    # called by `pipeline.evaluate_dataset` with the gates' context
    def request(self, ctx: Any) -> dict[str, Any]:
        assert self.root is not None
        self.plan = plan_publish(self.root, self.slug, self.version, sources_of(ctx,
                                                                                self.settings))
        return self.plan.capsule()

    def execute(self, workspace: Any, *, dry_run: bool) -> list[Outcome]:
        if self.plan is None:
            raise InputError("publish step ran before its plan was made", field="--publish-to")
        self.outcomes = publish(self.plan, self.settings, PublishOptions(workspace=workspace),
                                dry_run=dry_run)
        return self.outcomes

    def published_uri(self, path: str) -> str:
        assert self.plan is not None
        return self.plan.uri_of(path)

    @property
    def prefix(self) -> str:
        assert self.plan is not None
        return self.plan.prefix_uri


def sources_of(ctx: Any, settings: StoreSettings) -> list[Source]:
    """Every artifact the gates hashed, with its size and (remote) the pin the gates took.

    Artifacts without a digest (missing, unreadable) are left out: the gates have denied
    the promotion already, and nothing is published on a deny."""
    media = {a["path"]: str(a.get("media_type", "")) for a in ctx.spec.get("artifacts") or []
             if isinstance(a, dict) and isinstance(a.get("path"), str)}
    pins = _pins(ctx, settings, [p for p in media if is_uri(p) and _digest(ctx, p)])
    out = []
    for path, media_type in media.items():
        digest = _digest(ctx, path)
        if digest is None:
            continue
        if is_uri(path):
            pin = pins[path]
            out.append(Source(path, digest, pin.size, media_type, pin.etag, pin.version))
        else:
            size = ctx.workspace.resolve(path, field="/artifacts").stat().st_size
            out.append(Source(path, digest, size, media_type))
    return out


def _digest(ctx: Any, path: str) -> str | None:
    link = ctx.links.get(path)
    value = getattr(link, "actual", None)
    return value if isinstance(value, str) else None


def _pins(ctx: Any, settings: StoreSettings, uris: list[str]) -> dict[str, Any]:
    """The gates' pins (size, ETag, version) of remote artifacts; any not recorded are
    taken now, and must hash to the digest the gates recorded."""
    from promote_action.store.digest import hash_objects

    remote = getattr(ctx, "remote", None)
    known = dict(getattr(remote, "pins", None) or {})
    pins = {u: known[u] for u in uris if u in known}
    missing = [u for u in uris if u not in pins]
    if missing:
        for uri, pin in hash_objects(missing, settings).items():
            if pin.digest != _digest(ctx, uri):
                raise ObjectChangedError(f"{uri}: bytes changed since the gates hashed them "
                                         f"({pin.digest}, expected {_digest(ctx, uri)})",
                                         uri=uri)
            pins[uri] = pin
    return {u: pins[_key(pins, u)] for u in uris}


def _key(pins: dict[str, Any], uri: str) -> str:
    if uri in pins:
        return uri
    raise ObjectChangedError(f"{uri}: no pin recorded for this object", uri=uri)


__all__ = ["PublishStep", "sources_of"]
