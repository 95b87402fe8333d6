"""`validate` on a dataset whose artifacts live in object storage (moto S3, Azurite,
fake-gcs-server, HTTP, file).

The dataset is the reference passing fixture with every artifact named by URI in the
spec, receipt, DCAT, STAC and PROV (tests/store_fixture.py); the bytes are uploaded at
test time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from store_fixture import file_upload, http_upload, remote_dataset, s3_upload
from store_servers import FAST_RETRIES
from tests_support import fixture_builder


def validate(run_cli: Any, ds: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    res = run_cli("validate", "--spec", ds, "--format", "json", *extra)
    report = json.loads(res.out) if res.out.strip() else {}
    return res.code, report, res.err


def codes(report: dict[str, Any]) -> set[str]:
    return {r["code"] for g in report.get("gates", []) for r in g["reasons"]}


@pytest.mark.parametrize("object_store", ["s3", "az", "gs"], indirect=True)
def test_bucket_variant_passes_and_reports_pins(tmp_path: Path, object_store: Any,
                                                store_env: Any, run_cli: Any) -> None:
    s3_server = object_store
    store_env(s3_server.env)
    bucket = s3_server.bucket()
    ds, uris = remote_dataset(tmp_path / "ds", s3_upload(s3_server, bucket))
    code, report, err = validate(run_cli, ds)
    assert code == 0, (err, codes(report))
    assert report["decision"] == "pass"
    from promote_action.schemas import require_valid

    require_valid("validation_report.schema.json", report, file="report.json")
    objects = report["digests"]["objects"]
    assert set(objects) == set(uris.values())
    for uri, obj in objects.items():
        assert report["digests"]["artifacts"][uri] == obj["digest"]
        key = uri.split("/", 3)[3]
        assert obj["etag"] == s3_server.etag(bucket, key)
        assert obj["size"] == len(s3_server.keys(bucket, key)[key])
        assert (obj["version"] is None) == (object_store.scheme != "gs")  # GCS generation
    # same inputs, same bytes: the report is deterministic
    assert validate(run_cli, ds)[1] == report


def test_capsule_names_the_pin(tmp_path: Path, s3_server: Any, store_env: Any) -> None:
    from promote_action.pipeline import evaluate_dataset

    store_env(s3_server.env)
    bucket = s3_server.bucket(versioned=True)
    ds, uris = remote_dataset(tmp_path / "ds", s3_upload(s3_server, bucket))
    ev = evaluate_dataset(ds, engine="embedded")
    arts = {a["path"]: a for a in ev.capsule["artifacts"]}
    for uri in uris.values():
        obj = arts[uri]["object"]
        assert obj["uri"] == uri and obj["digest"] == arts[uri]["digest"]
        assert obj["version"]  # versioned bucket: the version id is part of the pin


@pytest.mark.parametrize("kind", ["http", "file"])
def test_http_and_file_variants_pass(kind: str, tmp_path: Path, http_objects: Any,
                                     store_env: Any, run_cli: Any) -> None:
    store_env({**http_objects.env, "KFM_STORE_FILE_ROOTS": str(tmp_path / "lake")})
    upload = http_upload(http_objects) if kind == "http" else file_upload(tmp_path / "lake")
    ds, uris = remote_dataset(tmp_path / "ds", upload)
    code, report, err = validate(run_cli, ds)
    assert code == 0, (err, codes(report))
    assert set(report["digests"]["objects"]) == set(uris.values())


def test_receipt_inputs_in_storage(tmp_path: Path, s3_server: Any, store_env: Any,
                                   run_cli: Any) -> None:
    store_env(s3_server.env)
    ds, uris = remote_dataset(tmp_path / "ds", s3_upload(s3_server, s3_server.bucket()),
                              receipt_inputs_remote=True)
    code, report, err = validate(run_cli, ds)
    assert code == 0, (err, codes(report))
    assert uris["raw/nwis_export.csv"] in report["digests"]["objects"]


def test_digest_mismatch_denies(tmp_path: Path, s3_server: Any, store_env: Any,
                                run_cli: Any) -> None:
    """The bucket holds other bytes than every document claims: deny, naming the URI."""
    store_env(s3_server.env)

    def tamper(ds: Any, uris: dict[str, str]) -> None:
        ds.files[uris["processed/gauges.csv"]] += b"06892350,tampered,0,0,0\n"

    ds, uris = remote_dataset(tmp_path / "ds", s3_upload(s3_server, s3_server.bucket()),
                              mutate=tamper)
    code, report, _ = validate(run_cli, ds)
    assert code == 1
    assert {"D.digest_mismatch_dcat", "D.digest_mismatch_prov", "E.digest_mismatch"} \
        <= codes(report)
    msgs = [r["message"] for g in report["gates"] for r in g["reasons"]
            if r["code"] == "E.digest_mismatch"]
    assert any(uris["processed/gauges.csv"] in m and "the object hashes to" in m for m in msgs)


def test_object_changed_while_read_denies(tmp_path: Path, http_objects: Any, store_env: Any,
                                          run_cli: Any) -> None:
    """Read in ranges, and replaced after the first range: E.object_changed, a deny
    (exit 1), and no digest is reported for it."""
    store_env({**http_objects.env, "KFM_STORE_RANGE_MIB": "0.0001",
               "KFM_STORE_CHUNK_MIB": "0.0001"})  # ~100-byte ranges: two for gauges.csv
    ds, uris = remote_dataset(tmp_path / "ds", http_upload(http_objects))
    path = "/" + uris["processed/gauges.csv"].split("/", 3)[3]
    http_objects.faults.add(path, method="GET", body=b"other bytes\n" * 20, after=1,
                            times=20)
    code, report, _ = validate(run_cli, ds)
    assert code == 1
    assert "E.object_changed" in codes(report)
    assert uris["processed/gauges.csv"] not in report["digests"]["objects"]


def test_declared_size_mismatch(tmp_path: Path, s3_server: Any, store_env: Any,
                                run_cli: Any) -> None:
    store_env(s3_server.env)

    def sized(size: int) -> Any:
        return lambda ds, uris: ds.spec["artifacts"][0].update(size=size)

    right = len(fixture_builder().GAUGES_CSV)
    ds, _ = remote_dataset(tmp_path / "ok", s3_upload(s3_server, s3_server.bucket()),
                           prepare=sized(right))
    assert validate(run_cli, ds)[0] == 0
    ds, _ = remote_dataset(tmp_path / "bad", s3_upload(s3_server, s3_server.bucket()),
                           prepare=sized(right + 1))
    code, report, _ = validate(run_cli, ds)
    assert code == 1 and codes(report) & {"E.size_mismatch", "D.version_mismatch"} == \
        {"E.size_mismatch"}


@pytest.mark.parametrize(("uri", "why"), [
    ("s3://lake/work/../secrets/key.csv", "'.' or '..' segment"),
    ("s3://lake/work/%2e%2e/x.csv", "percent-encoding"),
    ("s3://lake//x.csv", "empty path segment"),
    ("ftp://example.org/x.csv", "URL or drive prefix"),
    ("https://example.org/x.csv?X-Amz-Credential=abc", "query or fragment"),
    ("http://example.org/x.csv", "plain http"),
])
def test_bad_uri_is_exit_2_naming_field(uri: str, why: str, pass_dataset: Path,
                                        store_env: Any, run_subprocess: Any) -> None:
    store_env({})
    spec = pass_dataset / "spec.yaml"
    spec.write_text(spec.read_text().replace("path: processed/gauges.csv", f"path: '{uri}'"))
    res = run_subprocess("validate", "--spec", pass_dataset, "--format", "json")
    assert res.code == 2, res.err
    assert why in res.err and "spec.yaml" in res.err and "/artifacts" in res.err
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1
    assert res.out == ""


def test_missing_credentials_exit_2(tmp_path: Path, s3_server: Any, store_env: Any,
                                    run_subprocess: Any) -> None:
    store_env(s3_server.env)
    ds, uris = remote_dataset(tmp_path / "ds", s3_upload(s3_server, s3_server.bucket()))
    env = {k: v for k, v in s3_server.env.items() if not k.startswith("AWS_ACCESS")}
    store_env({**env, "AWS_ACCESS_KEY_ID": ""})
    res = run_subprocess("validate", "--spec", ds, "--format", "json")
    assert res.code == 2, res.err
    assert "no S3 credentials" in res.err and uris["processed/gauges.csv"] in res.err
    assert "Traceback" not in res.err and res.out == ""


@pytest.mark.parametrize(("object_store", "drop", "why"), [
    ("gs", ("GOOGLE_SERVICE_ACCOUNT",), "no Google Cloud credentials"),
    ("az", ("AZURE_STORAGE_USE_EMULATOR",), "no Azure credentials"),
    ("az", ("AZURE_STORAGE_USE_EMULATOR",), "no Azure storage account"),
], indirect=["object_store"], ids=["gs", "az", "az-account"])
def test_missing_cloud_credentials_exit_2(tmp_path: Path, object_store: Any, store_env: Any,
                                          run_subprocess: Any, drop: tuple[str, ...],
                                          why: str) -> None:
    """No credential source in the environment: one line naming the URI, exit 2, and no
    request at all (not even to a cloud metadata service)."""
    store_env(object_store.env)
    ds, uris = remote_dataset(tmp_path / "ds", s3_upload(object_store, object_store.bucket()))
    env = {k: v for k, v in object_store.env.items() if k not in drop}
    env["NO_GCE_CHECK"] = "true"  # GCS: there is no metadata server to fall back on
    if why.endswith("account"):  # a key, but no account to use it with
        env["AZURE_STORAGE_ACCOUNT_KEY"] = "a2V5"
    store_env(env)
    res = run_subprocess("validate", "--spec", ds, "--format", "json")
    assert res.code == 2, res.err
    assert why in res.err and uris["processed/gauges.csv"] in res.err
    assert "Traceback" not in res.err and res.out == ""
    assert len(res.err.strip().splitlines()) == 1


def test_404_and_503_exit_2(tmp_path: Path, s3_server: Any, s3_faults: Any, store_env: Any,
                            run_cli: Any) -> None:
    store_env(s3_faults.env)
    bucket = s3_server.bucket()
    ds, uris = remote_dataset(tmp_path / "ds", s3_upload(s3_server, bucket))
    key = uris["processed/gauges.geojson"].split("/", 3)[3]
    s3_faults.faults.add(f"/{bucket}/{key}", status=503, method="*", times=100)
    res = run_cli("validate", "--spec", ds, "--format", "json")
    assert res.code == 2 and res.out == ""
    assert uris["processed/gauges.geojson"] in res.err and "503" in res.err
    assert s3_faults.faults.count("GET", f"/{bucket}/{key}") == \
        int(FAST_RETRIES["KFM_STORE_RETRIES"]) + 1
    s3_faults.faults.clear()
    s3_server.client().delete_object(Bucket=bucket, Key=key)
    res = run_cli("validate", "--spec", ds, "--format", "json")
    assert res.code == 2 and "not found (404)" in res.err


def test_catalog_links_to_other_objects_are_findings(tmp_path: Path, s3_server: Any,
                                                     store_env: Any, run_cli: Any) -> None:
    """A downloadURL that names an object the spec does not declare is never followed:
    a finding on the DCAT document, not a read."""
    store_env(s3_server.env)
    bucket = s3_server.bucket()

    def elsewhere(ds: Any, uris: dict[str, str]) -> None:
        dist = ds.docs["catalog/dcat.jsonld"]["dcat:distribution"][0]
        dist["dcat:downloadURL"] = f"s3://{bucket}/elsewhere/gauges.csv"

    ds, _ = remote_dataset(tmp_path / "ds", s3_upload(s3_server, bucket), mutate=elsewhere)
    code, report, _ = validate(run_cli, ds)
    assert code == 1
    bad = [r for g in report["gates"] for r in g["reasons"] if r["code"] == "D.link_broken"]
    assert bad and bad[0]["pointer"].endswith("/dcat:downloadURL")
    assert f"s3://{bucket}/elsewhere/gauges.csv" not in report["digests"].get("objects", {})


def test_evidence_in_storage(tmp_path: Path, s3_server: Any, store_env: Any,
                             run_cli: Any) -> None:
    """Evidence named by object URI is hashed through the store and must match."""
    store_env(s3_server.env)
    bucket = s3_server.bucket()
    upload = s3_upload(s3_server, bucket)

    def remote_evidence(ds: Any, uris: dict[str, str]) -> None:
        data = ds.render("qa/report.json")
        uri = upload("qa/report.json", data)
        ds.spec["evidence"][0].update(uri=uri, digest=fixture_builder().sha(data))

    ds, _ = remote_dataset(tmp_path / "ds", upload, prepare=remote_evidence)
    code, report, err = validate(run_cli, ds)
    assert code == 0, (err, codes(report))
    assert f"s3://{bucket}/work/kansas_river_gauges/qa/report.json" in \
        report["digests"]["objects"]
