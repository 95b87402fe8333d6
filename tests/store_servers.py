"""Object-storage servers for tests, on 127.0.0.1 only, started by the tests themselves.

- `s3_server` (session): moto's `ThreadedMotoServer` on a free port; `S3.bucket()` makes a
  fresh bucket per test, `S3.env` is the standard AWS environment pointing at it.
- `s3_faults` : a loopback proxy in front of moto that injects statuses (403, 503
  SlowDown), stalls (timeouts) or a replaced body, per key, a bounded number of times.
- `http_objects`: a small HTTP object server (GET/HEAD, Range, ETag, If-Match) with the
  same fault injection, for `https://`-style stores (plain http is allowed only through
  `KFM_STORE_ALLOW_HTTP=1`, which its `env` sets).

Registered as a pytest plugin by `tests/conftest.py`, so every test directory can use
the fixtures. Every loop here is bounded: faults fire a fixed number of times, stalls
sleep a fixed time, servers stop at the end of their scope.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

_COUNTER = itertools.count()
# For fault tests: few, quick retries and short timeouts, so every failure path ends fast.
FAST_RETRIES = {"KFM_STORE_RETRIES": "2", "KFM_STORE_BACKOFF": "0.01",
                "KFM_STORE_TIMEOUT": "1", "KFM_STORE_RETRY_TIMEOUT": "4",
                "KFM_STORE_CONNECT_TIMEOUT": "1"}


@dataclass
class Fault:
    """What to do to the next `times` matching requests."""

    status: int = 0  # answer with this status (and an S3-style error body)
    stall: float = 0.0  # sleep this long before answering (timeouts)
    body: bytes | None = None  # answer GETs with these bytes instead (changed object)
    truncate: int = -1  # send only this many body bytes, then close (headers claim all)
    short: int = -1  # answer with only this many bytes, headers consistent (a lying server)
    times: int = 1
    method: str = "GET"
    after: int = 0  # let this many matching requests through first
    seen: int = 0


@dataclass
class Faults:
    """Per-path faults shared by the proxy and the HTTP object server (thread-safe)."""

    rules: dict[str, list[Fault]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, **kw: Any) -> Fault:
        fault = Fault(**kw)
        with self.lock:
            self.rules.setdefault(path, []).append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            self.hits[f"{method} {path}"] = self.hits.get(f"{method} {path}", 0) + 1
            for fault in self.rules.get(path, []):
                if fault.method not in (method, "*") or fault.times <= 0:
                    continue
                if fault.seen < fault.after:
                    fault.seen += 1
                    continue
                fault.times -= 1
                return fault
        return None

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return self.hits.get(f"{method} {path}", 0)

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.hits.clear()


_ERROR_NAMES = {403: "AccessDenied", 404: "NoSuchKey", 412: "PreconditionFailed",
                500: "InternalError", 503: "SlowDown"}


def _send_fault(handler: BaseHTTPRequestHandler, fault: Fault) -> bool:
    """Apply a status/stall fault; True when the response was sent."""
    if fault.stall:
        time.sleep(fault.stall)
    if fault.status:
        code = _ERROR_NAMES.get(fault.status, "Error")
        body = (f"<?xml version=\"1.0\"?><Error><Code>{code}</Code>"
                f"<Message>injected</Message></Error>").encode()
        handler.send_response(fault.status)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
        return True
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that stops reading mid-body (a ranged read cut short, a fault test
        dropping the connection) is expected here; anything else is still reported."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Loopback:
    """A threaded HTTP server on 127.0.0.1 with a free port, stopped by `stop`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.faults = Faults()
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- HTTP object server ----------------------------------------------------------------

class HTTPObjects(_Loopback):
    """In-memory objects served over HTTP with Range, ETag and If-Match."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.etag_enabled = True
        super().__init__(self._handler())
        self.env = {"KFM_STORE_ALLOW_HTTP": "1"}

    def put(self, path: str, data: bytes) -> str:
        """Store `data` at `/path`; returns its http URI."""
        self.objects["/" + path.lstrip("/")] = data
        return f"{self.base}/{path.lstrip('/')}"

    @staticmethod
    def etag(data: bytes) -> str:
        return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(_QuietHandler):
            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

            def _answer(self, head: bool) -> None:
                fault = owner.faults.take(self.command, self.path)
                if fault is not None and _send_fault(self, fault):
                    return
                data = owner.objects.get(self.path)
                if fault is not None and fault.body is not None:
                    data = fault.body
                if data is None:
                    return self._empty(404)
                etag = owner.etag(data)
                want = self.headers.get("If-Match")
                if want is not None and want.strip() not in ("*", etag):
                    return self._empty(412)
                start, end, status = 0, len(data), 200
                full = len(data)
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    first, _, last = rng[6:].partition("-")
                    start = int(first)
                    end = min(int(last) + 1, len(data)) if last else len(data)
                    if start >= len(data):
                        return self._empty(416)
                    status = 206
                self.send_response(status)
                if owner.etag_enabled:
                    self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Sun, 01 Mar 2026 00:00:00 GMT")
                if fault is not None and fault.short >= 0 and not head:
                    end = min(end, start + fault.short)
                self.send_header("Content-Length", str(end - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{full}")
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if not head:
                    if fault is not None and fault.truncate >= 0:
                        self.wfile.write(data[start:start + fault.truncate])
                        self.close_connection = True
                        return None
                    self.wfile.write(data[start:end])
                return None

            def _empty(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


# --- S3 (moto) and a fault-injecting proxy in front of it ------------------------------

class S3:
    """A moto S3 server; `env` is the standard AWS environment for it."""

    scheme = "s3"

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.env = self.env_for(self.endpoint)

    @staticmethod
    def env_for(endpoint: str) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
                "AWS_ALLOW_HTTP": "true", "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def bucket(self, versioned: bool = False) -> str:
        """A new, empty bucket (unique per call, so tests never see each other's keys)."""
        name = f"kfm-test-{next(_COUNTER)}"
        c = self.client()
        c.create_bucket(Bucket=name)
        if versioned:
            c.put_bucket_versioning(Bucket=name,
                                    VersioningConfiguration={"Status": "Enabled"})
        return name

    def put(self, bucket: str, key: str, data: bytes) -> str:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)
        return f"s3://{bucket}/{key}"

    def etag(self, bucket: str, key: str) -> str:
        tag: str = self.client().head_object(Bucket=bucket, Key=key)["ETag"]
        return tag

    def delete(self, bucket: str, key: str) -> None:
        self.client().delete_object(Bucket=bucket, Key=key)

    def keys(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every visible object under `prefix`, with its bytes."""
        c = self.client()
        listed = c.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                for o in listed}

    def stop(self) -> None:
        self.server.stop()


class FaultProxy(_Loopback):
    """Forwards every request to `upstream` unchanged, except where a fault applies."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        super().__init__(self._handler())
        self.endpoint = self.base
        self.env = {**S3.env_for(self.endpoint), **FAST_RETRIES}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(_QuietHandler):
            def _forward(self) -> None:
                path = self.path.split("?", 1)[0]
                fault = owner.faults.take(self.command, path)
                if fault is not None and _send_fault(self, fault):
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(owner.upstream, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body,
                                 headers={k: v for k, v in self.headers.items()
                                          if k.lower() != "connection"})
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("connection", "transfer-encoding",
                                             "content-length", "server", "date"):
                            self.send_header(k, v)
                    length = (resp.getheader("Content-Length", "0")
                              if self.command == "HEAD" else str(len(data)))
                    self.send_header("Content-Length", length)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        return Handler


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    server = S3()
    yield server
    server.stop()


@pytest.fixture
def s3_faults(s3_server: S3) -> Iterator[FaultProxy]:
    proxy = FaultProxy(s3_server.endpoint)
    yield proxy
    proxy.stop()


@pytest.fixture
def http_objects() -> Iterator[HTTPObjects]:
    server = HTTPObjects()
    yield server
    server.stop()


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Make `env` the whole store environment of the process (obstore also reads it):
    every cloud or store variable not in `env` is removed, and cached stores are
    forgotten before and after, so no test sees another's (or its own earlier)
    credentials."""
    import os

    from promote_action.store.client import clear_cache
    from promote_action.store.settings import CLOUD_ENV_NAMES

    def clean() -> None:
        for name in list(os.environ):
            if name.startswith(("AWS_", "GOOGLE_", "AZURE_", "KFM_STORE_")) \
                    or name in CLOUD_ENV_NAMES:
                monkeypatch.delenv(name)

    clean()
    clear_cache()

    def apply(env: dict[str, str]) -> dict[str, str]:
        clean()
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        clear_cache()
        return env

    yield apply
    clear_cache()
