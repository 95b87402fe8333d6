"""Streaming, pinned digests against real servers on 127.0.0.1 (moto S3, Azurite,
fake-gcs-server, HTTP, file)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from promote_action.store import (
    ObjectChangedError,
    StoreSettings,
    hash_objects,
    hash_objects_detailed,
    read_pinned,
    verify_pinned,
)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def small_chunks(env: dict[str, str], *, ranges: bool = True) -> StoreSettings:
    """64 KiB chunks; with `ranges`, objects above 128 KiB take the parallel-range path."""
    extra = {"KFM_STORE_RANGE_MIB": "0.125"} if ranges else {}
    return StoreSettings.from_env({**env, "KFM_STORE_CHUNK_MIB": "0.0625",
                                   "KFM_STORE_CONCURRENCY": "4", **extra})


BUCKET_STORES = pytest.mark.parametrize("object_store", ["s3", "az", "gs"], indirect=True)


@BUCKET_STORES
@pytest.mark.parametrize("ranges", [False, True])
def test_bucket_digests_match_hashlib(ranges: bool, object_store: Any,
                                      store_env: Any) -> None:
    s3_server = object_store
    env = store_env(s3_server.env)
    bucket = s3_server.bucket()
    blobs = {f"work/part-{i}.bin": os.urandom(n) for i, n in
             enumerate([0, 1, 65535, 65536, 65537, 300_001])}
    uris = [s3_server.put(bucket, k, v) for k, v in blobs.items()]
    pins = hash_objects(uris + uris[:2], small_chunks(env, ranges=ranges))  # once each
    assert list(pins) == uris
    for uri, (key, data) in zip(uris, blobs.items(), strict=True):
        pin = pins[uri]
        assert pin.digest == sha(data), key
        assert pin.size == len(data)
        assert pin.etag
        # GCS always names the object's generation; S3 and Azure only on versioned buckets
        assert (pin.version is not None) == (object_store.scheme == "gs")


def test_abfs_uri_names_the_account(azurite: Any, store_env: Any) -> None:
    """`abfs://container@account.dfs.core.windows.net/key` names the storage account in
    the URI; it reads the same object as `az://container/key` with the account from the
    environment, and is reported under its own normal form."""
    env = store_env(azurite.env)
    container = azurite.bucket()
    data = os.urandom(70_000)
    az = azurite.put(container, "work/a.bin", data)
    abfs = f"abfs://{container}@devstoreaccount1.dfs.core.windows.net/work/a.bin"
    pins = hash_objects([az, abfs], StoreSettings.from_env(env))
    assert list(pins) == [az, abfs]
    assert pins[az].digest == pins[abfs].digest == sha(data)
    assert pins[az].etag == pins[abfs].etag


def test_versioned_bucket_pins_version(s3_server: Any, store_env: Any) -> None:
    """On a versioned bucket the pin names the version: a later overwrite of the key
    cannot change what a pinned read returns (the reviewed bytes), and deleting that
    version is a change."""
    env = store_env(s3_server.env)
    settings = StoreSettings.from_env(env)
    bucket = s3_server.bucket(versioned=True)
    uri = s3_server.put(bucket, "a.csv", b"v1\n")
    pin = hash_objects([uri], settings)[uri]
    assert pin.version
    s3_server.put(bucket, "a.csv", b"v2, other bytes\n")
    assert b"".join(read_pinned(pin, settings)) == b"v1\n"
    assert hash_objects([uri], settings)[uri].version != pin.version
    s3_server.client().delete_object(Bucket=bucket, Key="a.csv", VersionId=pin.version)
    with pytest.raises(ObjectChangedError) as info:
        verify_pinned(pin, settings)
    assert info.value.code == "E.object_changed" and info.value.exit_code == 1


@BUCKET_STORES
def test_replaced_between_hash_and_reread(object_store: Any, store_env: Any) -> None:
    """A pinned re-read (If-Match + version) of an object replaced or removed since it
    was hashed is a deny. On GCS the pin carries the generation, so the stale read asks
    for a generation that no longer exists (fake-gcs-server ignores If-Match itself;
    the digest check at the end of every pinned read would refuse other bytes too)."""
    s3_server = object_store
    env = store_env(s3_server.env)
    bucket = s3_server.bucket()
    uri = s3_server.put(bucket, "work/x.bin", b"a" * 1000)
    settings = StoreSettings.from_env(env)
    pin = hash_objects([uri], settings)[uri]
    verify_pinned(pin, settings)  # unchanged: passes
    s3_server.put(bucket, "work/x.bin", b"b" * 1000)  # same size, other bytes
    with pytest.raises(ObjectChangedError, match="changed since it was hashed"
                       if object_store.scheme != "gs" else "replaced or removed"):
        verify_pinned(pin, settings)  # GCS: the pinned generation is gone (404)
    s3_server.delete(bucket, "work/x.bin")
    # Azurite answers If-Match on a deleted blob with 412, the others with 404
    with pytest.raises(ObjectChangedError, match=r"removed|changed since"):
        verify_pinned(pin, settings)


@pytest.mark.parametrize("after", [0, 1])
def test_changed_mid_read_ranges(after: int, http_objects: Any, store_env: Any) -> None:
    """Read in ranges, the object is replaced after the HEAD that pinned it (or after the
    first range): the next GET's If-Match fails, and the half-read object is never
    reported with a digest."""
    env = store_env(http_objects.env)
    uri = http_objects.put("work/big.bin", os.urandom(400_000))
    http_objects.faults.add("/work/big.bin", method="GET", after=after, times=100,
                            body=os.urandom(400_000))
    err = hash_objects_detailed([uri], small_chunks(env))[uri]
    assert isinstance(err, ObjectChangedError)
    assert err.code == "E.object_changed"


def test_single_get_pins_what_it_served(http_objects: Any, store_env: Any) -> None:
    """One GET per object: the pin is that response's own ETag and size, so digest and
    pin always describe the same bytes, whatever the key held before."""
    env = store_env(http_objects.env)
    uri = http_objects.put("work/x.bin", b"old" * 1000)
    served = os.urandom(5000)
    http_objects.faults.add("/work/x.bin", method="GET", body=served, times=1)
    pin = hash_objects([uri], small_chunks(env, ranges=False))[uri]
    assert (pin.digest, pin.size, pin.etag) == (sha(served), 5000, http_objects.etag(served))
    assert http_objects.faults.count("HEAD", "/work/x.bin") == 0  # one request per object


def test_http_digests_and_pinned_read(http_objects: Any, store_env: Any) -> None:
    env = store_env(http_objects.env)
    data = os.urandom(200_000)
    uri = http_objects.put("a/b.bin", data)
    settings = small_chunks(env)
    pin = hash_objects([uri], settings)[uri]
    assert pin.digest == sha(data) and pin.etag == http_objects.etag(data)
    assert b"".join(read_pinned(pin, settings)) == data
    http_objects.put("a/b.bin", data[:-1] + bytes([data[-1] ^ 0xFF]))  # always other bytes
    with pytest.raises(ObjectChangedError):
        verify_pinned(pin, settings)


def test_file_uri_through_same_layer(tmp_path: Path, store_env: Any) -> None:
    env = store_env({"KFM_STORE_FILE_ROOTS": str(tmp_path / "d")})
    f = tmp_path / "d" / "x.bin"
    f.parent.mkdir()
    data = os.urandom(150_000)
    f.write_bytes(data)
    uri = "file://" + f.as_posix()
    pin = hash_objects([uri], small_chunks(env))[uri]
    assert pin.digest == sha(data) and pin.size == len(data)
    f.write_bytes(os.urandom(150_001))
    with pytest.raises(ObjectChangedError):
        verify_pinned(pin, small_chunks(env))


_CHILD = """
import json, sys
from promote_action.store import StoreSettings, hash_objects
import os
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
settings = StoreSettings.from_env(os.environ)
hash_objects([sys.argv[1]], settings)  # warm up: runtime threads, pools, imports
base = hwm()
pin = hash_objects([sys.argv[2]], settings)[sys.argv[2]]
print(json.dumps({"size": pin.size, "growth": hwm() - base}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_memory_bounded_whatever_the_size(s3_server: Any, store_env: Any) -> None:
    """Peak RSS of a separate process hashing a 160 MiB object with the default
    settings grows by far less than the object (the budget is 64 MiB)."""
    import json
    import subprocess
    import sys

    env = store_env(s3_server.env)
    bucket = s3_server.bucket()
    small = s3_server.put(bucket, "small.bin", b"x" * 1000)
    size = 160 * 1024 * 1024
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="big.bin", Body=os.urandom(size))
    proc = subprocess.run([sys.executable, "-c", _CHILD, small, f"s3://{bucket}/big.bin"],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["size"] == size
    assert out["growth"] < 64 * 1024 * 1024, out


def test_file_uri_confined_to_roots(tmp_path: Path, store_env: Any) -> None:
    """Without configured roots no file:// is read; with them, nothing outside (also
    not through a symlink) is."""
    from promote_action.store import BadURIError

    lake = tmp_path / "lake"
    lake.mkdir()
    (tmp_path / "secret").write_bytes(b"s")
    (lake / "ok").write_bytes(b"ok")
    (lake / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(BadURIError, match="no KFM_STORE_FILE_ROOTS"):
        hash_objects([f"file://{lake}/ok"], StoreSettings.from_env(store_env({})))
    settings = StoreSettings.from_env(store_env({"KFM_STORE_FILE_ROOTS": str(lake)}))
    assert hash_objects([f"file://{lake}/ok"], settings)[f"file://{lake}/ok"].size == 2
    for uri in (f"file://{tmp_path}/secret", f"file://{lake}/link", "file:///etc/passwd"):
        with pytest.raises(BadURIError, match="not below"):
            hash_objects([uri], settings)


def test_ranged_reads_of_many_objects_share_the_pool(http_objects: Any,
                                                     store_env: Any) -> None:
    """More ranged objects than buffer slots: every object finishes (no object waits for
    slots while holding others), and every digest is right."""
    env = store_env(http_objects.env)
    blobs = {f"r/{i}.bin": os.urandom(300_000) for i in range(6)}
    uris = [http_objects.put(k, v) for k, v in blobs.items()]
    settings = StoreSettings.from_env({**env, "KFM_STORE_CHUNK_MIB": "0.0625",
                                       "KFM_STORE_RANGE_MIB": "0.125",
                                       "KFM_STORE_CONCURRENCY": "3"})
    pins = hash_objects(uris, settings)
    assert [pins[u].digest for u in uris] == [sha(v) for v in blobs.values()]
