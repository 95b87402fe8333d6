"""Helpers for the publish tests: sources on a test store (moto S3, Azurite), plans,
and a proxy that ignores conditional writes (as some gateways do)."""

from __future__ import annotations

import hashlib
import os
from http.server import BaseHTTPRequestHandler
from typing import Any

from store_servers import FAST_RETRIES, FaultProxy

from promote_action.store.publish_plan import PublishPlan, Source, parse_root, plan_publish
from promote_action.store.settings import StoreSettings

SLUG = "kansas_river_gauges"
VERSION = "2026-02.0123456789ab"
MIB = 1024 * 1024


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def remote_source(store: Any, bucket: str, key: str, data: bytes) -> Source:
    """Upload `data` (to moto S3, Azurite or fake-gcs-server) and describe it as the
    gates would have pinned it."""
    uri = store.put(bucket, key, data)
    return Source(uri, sha(data), len(data), "application/octet-stream",
                  store.etag(bucket, key))


def plan_for(root: str, sources: list[Source], version: str = VERSION) -> PublishPlan:
    return plan_publish(parse_root(root, allow_http=True), SLUG, version, sources)


def settings(env: dict[str, str]) -> StoreSettings:
    return StoreSettings.from_env(env)


def keys(store: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every visible object under `prefix`, with its bytes (any test store)."""
    found: dict[str, bytes] = store.keys(bucket, prefix)
    return found


def proxied_env(store: Any, endpoint: str) -> dict[str, str]:
    """The store's standard environment, sent through a proxy at `endpoint`."""
    return {**store.env_for(endpoint), **FAST_RETRIES}


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


class IgnoresConditionalWrites(FaultProxy):
    """An S3 endpoint that drops `If-None-Match` before forwarding: it accepts a
    create-only write and overwrites anyway, like gateways that ignore preconditions."""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base: Any = super()._handler()

        class Handler(base):  # type: ignore[misc, valid-type]
            def _strip(self) -> None:
                del self.headers["If-None-Match"]
                base._forward(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _strip

        return Handler
