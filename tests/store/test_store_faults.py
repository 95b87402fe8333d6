"""Store faults: each a one-line error naming the URI, with the exit code it maps to,
after a bounded number of requests."""

from __future__ import annotations

import os
from typing import Any

import pytest
from store_servers import FAST_RETRIES

from promote_action.errors import EXIT
from promote_action.store import (
    SizeMismatchError,
    StoreAccessError,
    StoreSettings,
    hash_objects,
    hash_objects_detailed,
)


def one_line(err: Exception, uri: str) -> str:
    line = err.diagnostics()  # type: ignore[attr-defined]
    assert uri in line and "\n" not in line and "Traceback" not in line
    return line


def test_missing_credentials_is_exit_2(s3_server: Any, store_env: Any) -> None:
    env = {k: v for k, v in s3_server.env.items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    store_env(env)
    uri = f"s3://{s3_server.bucket()}/a.csv"
    with pytest.raises(StoreAccessError) as info:
        hash_objects([uri], StoreSettings.from_env(env))
    assert info.value.exit_code == EXIT.BAD_INPUT
    assert "no S3 credentials" in one_line(info.value, uri)


def test_wrong_credentials_is_exit_2(s3_server: Any, store_env: Any) -> None:
    """Only the secret is wrong: moto checks signatures when told to, a real bucket
    always; without that moto answers, so this checks the half-set case we catch."""
    env = {**s3_server.env}
    del env["AWS_SECRET_ACCESS_KEY"]
    store_env(env)
    with pytest.raises(StoreAccessError, match="AWS_SECRET_ACCESS_KEY is not"):
        hash_objects([f"s3://{s3_server.bucket()}/a"], StoreSettings.from_env(env))


def test_404_names_the_uri(s3_server: Any, store_env: Any) -> None:
    env = store_env(s3_server.env)
    uri = f"s3://{s3_server.bucket()}/work/missing.parquet"
    err = hash_objects_detailed([uri], StoreSettings.from_env(env))[uri]
    assert isinstance(err, StoreAccessError) and err.exit_code == EXIT.BAD_INPUT
    assert "not found (404)" in one_line(err, uri)


def faulty(s3_server: Any, s3_faults: Any, store_env: Any, **fault: Any
           ) -> tuple[str, str, dict[str, str]]:
    """A small object behind the fault proxy with `fault` armed: (uri, path, env)."""
    env = store_env(s3_faults.env)
    bucket = s3_server.bucket()
    uri = s3_server.put(bucket, "a.csv", b"1,2\n")
    s3_faults.faults.add(f"/{bucket}/a.csv", **fault)
    return uri, f"/{bucket}/a.csv", env


def test_403(s3_server: Any, s3_faults: Any, store_env: Any) -> None:
    uri, path, env = faulty(s3_server, s3_faults, store_env, status=403, method="*",
                            times=50)
    with pytest.raises(StoreAccessError) as info:
        hash_objects([uri], StoreSettings.from_env(env))
    assert "access denied (403)" in one_line(info.value, uri)
    assert s3_faults.faults.count("GET", path) == 1  # 403 is not retried


def test_503_slowdown_bounded_retries_then_exit_2(s3_server: Any, s3_faults: Any,
                                                  store_env: Any) -> None:
    uri, path, env = faulty(s3_server, s3_faults, store_env, status=503, method="*",
                            times=50)
    with pytest.raises(StoreAccessError) as info:
        hash_objects([uri], StoreSettings.from_env(env))
    line = one_line(info.value, uri)
    assert "503" in line and "retries" in line, line
    assert info.value.exit_code == EXIT.BAD_INPUT
    tries = s3_faults.faults.count("GET", path)
    assert tries == int(FAST_RETRIES["KFM_STORE_RETRIES"]) + 1


def test_503_then_recovers(s3_server: Any, s3_faults: Any, store_env: Any) -> None:
    """Throttling that stops within the retry budget is absorbed (with backoff)."""
    uri, path, env = faulty(s3_server, s3_faults, store_env, status=503, method="GET",
                            times=2)
    pin = hash_objects([uri], StoreSettings.from_env(env))[uri]
    assert pin.size == 4
    assert s3_faults.faults.count("GET", path) == 3


def test_timeout_bounded_then_exit_2(http_objects: Any, store_env: Any) -> None:
    env = store_env({**http_objects.env, **FAST_RETRIES})
    uri = http_objects.put("slow.bin", b"x" * 100)
    http_objects.faults.add("/slow.bin", stall=1.6, method="*", times=10)
    with pytest.raises(StoreAccessError) as info:
        hash_objects([uri], StoreSettings.from_env(env))
    line = one_line(info.value, uri)
    assert "did not answer in time" in line or "could not be reached" in line, line
    assert http_objects.faults.count("GET", "/slow.bin") <= 3


@pytest.mark.parametrize("ranges", ["0", "0.125"])
def test_connection_cut_mid_body_exit_2(ranges: str, http_objects: Any,
                                        store_env: Any) -> None:
    """The body stops before its announced length (after bounded retries): nothing is
    hashed, a one-line exit 2 naming the URI."""
    env = store_env({**http_objects.env, **FAST_RETRIES})
    uri = http_objects.put("t.bin", os.urandom(300_000))
    http_objects.faults.add("/t.bin", method="GET", truncate=1000, times=50)
    err = hash_objects_detailed([uri], StoreSettings.from_env(
        {**env, "KFM_STORE_CHUNK_MIB": "0.0625", "KFM_STORE_RANGE_MIB": ranges}))[uri]
    assert isinstance(err, StoreAccessError) and err.exit_code == EXIT.BAD_INPUT
    assert "stopped before" in one_line(err, uri)


def test_size_mismatch_short_range(http_objects: Any, store_env: Any) -> None:
    """A server that answers a range with fewer bytes (headers consistent with the short
    body, same ETag) is a size mismatch, never a digest of a truncated object."""
    env = store_env({**http_objects.env, **FAST_RETRIES})
    uri = http_objects.put("t.bin", os.urandom(300_000))
    http_objects.faults.add("/t.bin", method="GET", short=1000, after=1, times=50)
    err = hash_objects_detailed([uri], StoreSettings.from_env(
        {**env, "KFM_STORE_CHUNK_MIB": "0.0625", "KFM_STORE_RANGE_MIB": "0.125"}))[uri]
    assert isinstance(err, SizeMismatchError), err
    assert err.code == "E.size_mismatch" and err.exit_code == EXIT.DENY
    one_line(err, uri)


def test_no_etag_cannot_be_pinned(http_objects: Any, store_env: Any) -> None:
    env = store_env(http_objects.env)
    uri = http_objects.put("n.bin", b"abc")
    http_objects.etag_enabled = False
    with pytest.raises(StoreAccessError, match="no ETag"):
        hash_objects([uri], StoreSettings.from_env(env))


def test_http_refused_without_opt_in(http_objects: Any, store_env: Any) -> None:
    from promote_action.store import BadURIError

    env = store_env({})
    uri = http_objects.put("n.bin", b"abc")
    with pytest.raises(BadURIError, match="plain http"):
        hash_objects([uri], StoreSettings.from_env(env))


def test_bad_setting_is_exit_2() -> None:
    from promote_action.errors import InputError

    with pytest.raises(InputError, match="KFM_STORE_CONCURRENCY"):
        StoreSettings.from_env({"KFM_STORE_CONCURRENCY": "1000"})
    with pytest.raises(InputError, match="KFM_STORE_ALLOW_HTTP"):
        StoreSettings.from_env({"KFM_STORE_ALLOW_HTTP": "maybe"})
