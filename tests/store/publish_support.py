"""Helpers for the publish tests: sources on the moto server, plans, and a proxy that
ignores conditional writes (as some S3-compatible gateways do)."""

from __future__ import annotations

import hashlib
import os
from http.server import BaseHTTPRequestHandler
from typing import Any

from store_servers import FaultProxy

from promote_action.store.publish_plan import PublishPlan, Source, parse_root, plan_publish
from promote_action.store.settings import StoreSettings

SLUG = "kansas_river_gauges"
VERSION = "2026-02.0123456789ab"
MIB = 1024 * 1024


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def remote_source(s3: Any, bucket: str, key: str, data: bytes) -> Source:
    """Upload `data` and describe it as the gates would have pinned it."""
    uri = s3.put(bucket, key, data)
    etag = s3.client().head_object(Bucket=bucket, Key=key)["ETag"]
    return Source(uri, sha(data), len(data), "application/octet-stream", etag)


def plan_for(root: str, sources: list[Source], version: str = VERSION) -> PublishPlan:
    return plan_publish(parse_root(root, allow_http=True), SLUG, version, sources)


def settings(env: dict[str, str]) -> StoreSettings:
    return StoreSettings.from_env(env)


def keys(s3: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every visible object under `prefix`, with its bytes."""
    c = s3.client()
    listed = c.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in listed}


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
