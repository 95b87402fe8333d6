"""Helpers for the publish tests: sources on a test store (moto S3, Azurite), plans,
and a proxy that ignores conditional writes (as some gateways do)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class Proxied:
    """One source on a test store, a plan to publish it, and the proxy every request of
    the publish goes through (`env` points there)."""

    proxy: FaultProxy
    env: dict[str, str]
    bucket: str
    src: Source
    plan: PublishPlan
    proxy_account: str = ""  # Azurite's path prefix

    def path(self, key: str) -> str:
        """The request path the proxy sees for `key` (Azurite serves path-style URLs,
        /<account>/<container>/<key>)."""
        return f"{self.proxy_account}/{self.bucket}/{key}"


@contextmanager
def behind_proxy(store: Any, store_env: Any, key: str, data: bytes,
                 proxy_cls: type[FaultProxy] = FaultProxy) -> Iterator[Proxied]:
    """`data` uploaded to `key` in a fresh bucket and planned for `processed/`, with the
    publish's requests sent through a `proxy_cls` in front of the store (stopped after)."""
    proxy = proxy_cls(store.endpoint)
    try:
        env = store_env(proxied_env(store, proxy.endpoint))
        bucket = store.bucket()
        src = remote_source(store, bucket, key, data)
        plan = plan_for(f"{store.scheme}://{bucket}/processed", [src])
        yield Proxied(proxy, env, bucket, src, plan,
                      "/devstoreaccount1" if store.scheme == "az" else "")
    finally:
        proxy.stop()


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
