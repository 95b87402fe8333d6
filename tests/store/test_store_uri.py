"""URI parsing: one normal form, and every unsafe spelling refused with exit 2."""

from __future__ import annotations

import pytest

from promote_action.errors import EXIT
from promote_action.store import BadURIError, is_uri, parse_uri


@pytest.mark.parametrize(("text", "scheme", "container", "key"), [
    ("s3://lake/work/a/b.parquet", "s3", "lake", "work/a/b.parquet"),
    ("S3://lake/work/x.csv", "s3", "lake", "work/x.csv"),
    ("gs://my_bucket/obj", "gs", "my_bucket", "obj"),
    ("az://container/dir/blob.tif", "az", "container", "dir/blob.tif"),
    ("abfs://fsys@acct.dfs.core.windows.net/p/q", "az", "fsys", "p/q"),
    ("https://Data.Example.org/a/b.csv", "https", "data.example.org", "a/b.csv"),
    ("https://127.0.0.1:8443/a", "https", "127.0.0.1:8443", "a"),
    ("file:///srv/data/a.csv", "file", "", "srv/data/a.csv"),
])
def test_parse_normal_form(text: str, scheme: str, container: str, key: str) -> None:
    u = parse_uri(text)
    assert (u.scheme, u.container, u.key) == (scheme, container, key)
    assert parse_uri(u.uri) == u  # the normal form is a fixed point
    assert is_uri(text)


def test_normal_form_lowercases_scheme_and_host() -> None:
    assert parse_uri("S3://lake/A.csv").uri == "s3://lake/A.csv"
    assert parse_uri("HTTPS://Host.Example/K").uri == "https://host.example/K"
    assert parse_uri("abfs://fsys@acct.dfs.core.windows.net/k").account == "acct"


@pytest.mark.parametrize("text", [
    "s3://lake/work/../secret", "s3://lake/./a", "s3://lake/a//b", "s3://lake/a/",
    "s3://lake/a%2Fb", "s3://lake/a%2e%2e/b", "s3://lake/%5Cx", "s3://lake/a\\b",
    "s3://lake/a\x00b", "s3://lake/a\nb", "s3://lake/a b", "s3://lake/",
    "s3://lake", "s3://Bad_Bucket!/k", "s3://user:pw@lake/k", "s3://lake/k?versionId=1",
    "https://h.example/k?X-Amz-Signature=abc", "https://h.example/k#frag",
    "http://h.example/k", "ftp://h.example/k", "hdfs://nn/k", "file://otherhost/etc/x",
    "file:///etc/../x", "s3://lake/a\u202eb", "s3://lake/\uff0e\uff0e/x", "", "lake/key",
    "https://h..example/k", "s3://lake/" + "a" * 1100,
])
def test_unsafe_or_unsupported_refused(text: str) -> None:
    with pytest.raises(BadURIError) as info:
        parse_uri(text, file="spec.yaml", field="/artifacts/0/path")
    err = info.value
    assert err.exit_code == EXIT.BAD_INPUT
    line = err.diagnostics()
    assert line.startswith("spec.yaml: /artifacts/0/path: ")
    assert "\n" not in line


def test_http_only_when_allowed() -> None:
    assert parse_uri("http://127.0.0.1:9/k", allow_http=True).scheme == "http"
    with pytest.raises(BadURIError, match="plain http"):
        parse_uri("http://127.0.0.1:9/k")


def test_child_is_validated_join() -> None:
    base = parse_uri("s3://lake/processed", prefix=True)
    assert base.child("slug/v1/a.csv").uri == "s3://lake/processed/slug/v1/a.csv"
    assert base.child("slug/v1/a.csv").key == "processed/slug/v1/a.csv"
    root = parse_uri("s3://lake/", prefix=True)
    assert root.key == "" and root.child("x").uri == "s3://lake/x"
    for rel in ("../x", "a//b", "a/%2e%2e/b", "/abs", "a\\b", ""):
        with pytest.raises(BadURIError):
            base.child(rel)


def test_is_uri_is_not_fooled_by_paths() -> None:
    assert not is_uri("processed/a.csv")
    assert not is_uri("C:/x")
    assert not is_uri(None)
    assert is_uri("ftp://x/y") is False
