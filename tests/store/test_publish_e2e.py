"""`validate` → `promote --publish-to <store>://…` → `verify --artifacts`, as an operator
runs them: real CLI processes, real SSH signatures, a real bare ledger remote, and real
store servers on 127.0.0.1 — moto S3 and Azurite (Azure Blob) as publish targets,
fake-gcs-server as a GCS source. Failing variants leave nothing on the ledger and nothing
under a final key."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from promote_harness import (
    POLICY,
    REF,
    REPO_ROOT,
    assert_chain_whole,
    clone,
    git,
    git_verify_commit,
    kfm_argv,
    make_key,
    make_origin,
    promote_argv,
    run,
)
from publish_support import keys, sha
from store_fixture import remote_dataset, s3_upload
from tests_support import PASS_DIR

SLUG = "kansas_river_gauges"


class Site:
    """A bucket, a bare origin with its clone, a trusted key and an organisation policy
    directory allowing `<scheme>://<bucket>/processed` on the destination store.

    `store` holds the artifacts (named by URI when `remote`); `dest` (default: the same
    store) receives the published version; `env` is the runner's store environment."""

    def __init__(self, root: Path, store: Any, endpoint_env: dict[str, str],
                 prefixes: list[str] | None = None, remote: bool = False,
                 dest: Any = None):
        self.store = store
        self.bucket = store.bucket()
        self.dest = dest or store
        self.dest_bucket = self.dest.bucket() if dest is not None else self.bucket
        self.root = f"{self.dest.scheme}://{self.dest_bucket}/processed"
        self.key, self.allowed, _ = make_key(root / "keys")
        self.origin = make_origin(root / "origin.git")
        self.work = clone(self.origin, root / "work")
        self.ds = root / SLUG
        self.uris: dict[str, str] = {}
        if remote:  # the artifacts live in the bucket's work/ zone, named by URI
            self.ds, self.uris = remote_dataset(self.ds, s3_upload(store, self.bucket))
        else:
            shutil.copytree(PASS_DIR / SLUG, self.ds)
        self.policy = root / "org_policy"
        self.policy.mkdir()
        shutil.copy(POLICY / "stewards.json", self.policy / "stewards.json")
        allowed = [self.root] if prefixes is None else prefixes
        (self.policy / "publish.json").write_text(
            json.dumps({"kfm": {"publish_prefixes": allowed}}))
        from promote_action.spec import load_spec

        self.version = load_spec(self.ds).identity.dataset_version_id
        self.env = {**os.environ, **endpoint_env}
        self.final = f"processed/{SLUG}/{self.version}/"
        self.prefix = f"{self.root}/{SLUG}/{self.version}/"

    def promote(self, *extra: str, to: str | None = None) -> list[str]:
        return promote_argv(self.ds, self.version, self.work, self.key, "--remote", "origin",
                            "--publish-to", to or self.root, *extra, policy=self.policy)

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        p = run(argv, env=self.env)
        assert "Traceback" not in p.stderr, p.stderr
        return p

    def validate(self) -> None:
        v = self.run(kfm_argv("validate", "--spec", self.ds, "--policy", self.policy,
                              "--engine", "embedded"))
        assert v.returncode == 0, v.stdout + v.stderr

    def verify_artifacts(self, *extra: str) -> tuple[int, dict[str, Any]]:
        p = self.run(kfm_argv("verify", "--repo", self.origin, "--allowed-signers",
                              self.allowed, "--format", "json", "--artifacts", *extra))
        return p.returncode, json.loads(p.stdout)

    def ledger_refs(self) -> str:
        return git("-C", str(self.origin), "for-each-ref", REF).stdout

    def published(self) -> dict[str, bytes]:
        return keys(self.dest, self.dest_bucket, "processed/")

    def replace(self, uri: str, data: bytes) -> None:
        """Other bytes under the key of a source artifact (as another writer would)."""
        self.store.put(self.bucket, uri.split("/", 3)[3], data)


PUBLISH_TARGETS = pytest.mark.parametrize("object_store", ["s3", "az"], indirect=True)


@pytest.fixture
def site(tmp_path: Path, object_store: Any) -> Site:
    return Site(tmp_path, object_store, object_store.env)


@PUBLISH_TARGETS
def test_validate_promote_publish_verify_artifacts(site: Site) -> None:
    site.validate()
    dry = site.run(site.promote("--dry-run"))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert dry.stdout.count("would copy processed/") == 2 and site.published() == {}
    p = site.run(site.promote("--format", "json"))
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "recorded"
    assert sorted(o["status"] for o in out["published"]) == ["created", "created"]
    assert sorted(site.published()) == [site.final + "processed/gauges.csv",
                                        site.final + "processed/gauges.geojson"]
    manifest = json.loads(git("-C", str(site.origin), "show",
                              f"{REF}:datasets/{SLUG}/{site.version[-12]}/{site.version[-11]}/{site.version}/manifest.json").stdout)
    prefix = site.prefix
    assert manifest["published_prefix"] == prefix
    assert {a["published_uri"] for a in manifest["artifacts"]} == {
        prefix + "processed/gauges.csv", prefix + "processed/gauges.geojson"}
    pointer = json.loads(git("-C", str(site.origin), "show",
                             f"{REF}:published/{SLUG}.json").stdout)
    assert pointer["published_prefix"] == prefix
    assert git_verify_commit(site.origin, site.allowed, REF).returncode == 0
    again = site.run(site.promote())
    assert again.returncode == 0 and "already recorded" in again.stdout, again.stdout
    code, report = site.verify_artifacts()
    assert code == 0 and report["artifacts"] == {"checked": 2, "findings": []}, report
    # an object changed behind the ledger's back is found, by entry and URI
    site.dest.put(site.dest_bucket, site.final + "processed/gauges.csv", b"tampered\n")
    bad = site.run(kfm_argv("verify", "--repo", site.origin, "--allowed-signers",
                            site.allowed, "--artifacts", "--dataset", SLUG))
    assert bad.returncode == 1
    assert f"entry #1 {SLUG} {site.version}: changed {prefix}processed/gauges.csv" in bad.stdout
    offline = site.run(kfm_argv("verify", "--repo", site.origin, "--allowed-signers",
                                site.allowed))
    assert offline.returncode == 0  # without --artifacts verify never reads the bucket


@pytest.mark.parametrize("case", ["outside", "sibling", "none_set"])
def test_denied_destination_prefix_writes_nothing(tmp_path: Path, s3_server: Any,
                                                  case: str) -> None:
    site = Site(tmp_path, s3_server, s3_server.env, [] if case == "none_set" else None)
    s3 = s3_server
    to = {"outside": f"s3://{site.bucket}/raw", "none_set": f"s3://{site.bucket}/processed",
          "sibling": f"s3://{site.bucket}/processed-evil"}[case]
    p = site.run(site.promote(to=to))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "F.publish_prefix_not_allowed" in p.stdout and to in p.stdout
    assert keys(s3, site.bucket) == {}


@PUBLISH_TARGETS
def test_destination_conflict_is_denied_nothing_on_the_ledger(site: Site) -> None:
    site.dest.put(site.dest_bucket, site.final + "processed/gauges.geojson", b"{}")
    p = site.run(site.promote())
    assert p.returncode == 1, p.stdout + p.stderr
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1 and "already exists with other bytes" in err
    assert f"{site.prefix}processed/gauges.geojson" in err
    assert site.ledger_refs() == ""
    assert sorted(site.published()) == [site.final + "processed/gauges.geojson"]


def test_destination_503_is_exit_2_nothing_on_the_ledger(tmp_path: Path, s3_server: Any,
                                                         s3_faults: Any) -> None:
    site = Site(tmp_path, s3_server, s3_faults.env)
    s3_faults.faults.add(f"/{site.bucket}/{site.final}processed/gauges.csv", status=503,
                         method="PUT", times=50)
    p = site.run(site.promote())
    assert p.returncode == 2, p.stdout + p.stderr
    assert "503" in p.stderr and f"{site.final}processed/gauges.csv" in p.stderr
    assert site.ledger_refs() == ""
    assert site.final + "processed/gauges.csv" not in site.published()


def test_kill_mid_publish_then_rerun_completes(tmp_path: Path, s3_server: Any,
                                               s3_faults: Any) -> None:
    """SIGKILL while the create-only PUT of one object hangs: no object under that key,
    nothing on the ledger; the re-run publishes the rest and records the promotion."""
    site = Site(tmp_path, s3_server, s3_faults.env)
    path = f"/{site.bucket}/{site.final}processed/gauges.geojson"
    s3_faults.faults.add(path, stall=20, status=500, method="PUT", times=1)
    proc = subprocess.Popen(site.promote(), cwd=REPO_ROOT, env=site.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while s3_faults.faults.count("PUT", path) == 0 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert site.final + "processed/gauges.geojson" not in site.published()
    assert site.ledger_refs() == ""
    s3_faults.faults.clear()
    p = site.run(site.promote())
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(site.published()) == [site.final + "processed/gauges.csv",
                                        site.final + "processed/gauges.geojson"]
    assert len(assert_chain_whole(site.origin)) == 1
    code, report = site.verify_artifacts()
    assert code == 0 and report["artifacts"]["findings"] == [], report


def test_digest_mismatch_is_denied_and_nothing_is_published(tmp_path: Path,
                                                            s3_server: Any) -> None:
    """Bytes that differ from what the catalogs and receipts record fail the gates: a
    `denied` entry is recorded (as for any deny at merge), and no object is copied."""
    site = Site(tmp_path, s3_server, s3_server.env)
    csv = site.ds / "processed" / "gauges.csv"
    csv.write_bytes(csv.read_bytes() + b"\n")
    p = site.run(site.promote())
    assert p.returncode == 1, p.stdout + p.stderr
    assert "digest" in p.stdout and "DENIED" in p.stdout
    assert keys(s3_server, site.bucket) == {}
    entries = assert_chain_whole(site.origin)
    assert [e["type"] for e in entries] == ["denied"]


# (artifact store, publish target): every source store the publisher reads, each into a
# target that enforces create-only writes. fake-gcs-server serves GCS reads (and ETags,
# generations) but not the XML-API writes a GCS publish makes, so gs:// is a source here.
REMOTE = pytest.mark.parametrize(("object_store", "target"), [
    ("s3", None), ("az", None), ("gs", "s3"), ("gs", "az")], indirect=["object_store"])


@pytest.fixture
def remote_site(tmp_path: Path, object_store: Any, target: str | None,
                request: pytest.FixtureRequest) -> Site:
    dest = (request.getfixturevalue({"s3": "s3_server", "az": "azurite"}[target])
            if target else None)
    env = {**object_store.env, **(dest.env if dest else {})}
    return Site(tmp_path, object_store, env, remote=True, dest=dest)


@REMOTE
def test_remote_artifacts_validate_publish_verify(remote_site: Site) -> None:
    """The object-storage variant: artifacts in `work/`, copied into `processed/` by key
    below their shared folder, and re-hashed by `verify --artifacts`."""
    site = remote_site
    site.validate()
    p = site.run(site.promote("--format", "json"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(site.published()) == [site.final + "gauges.csv",
                                        site.final + "gauges.geojson"]
    sources = {o["path"] for o in json.loads(p.stdout)["published"]}
    assert sources == set(site.uris.values())
    work = keys(site.store, site.bucket, "work/")
    assert {sha(b) for b in site.published().values()} == {sha(b) for b in work.values()}
    assert git_verify_commit(site.origin, site.allowed, REF).returncode == 0
    code, report = site.verify_artifacts("--dataset", SLUG)
    assert code == 0 and report["artifacts"] == {"checked": 2, "findings": []}, report


@REMOTE
def test_remote_object_replaced_after_validation_is_denied(remote_site: Site) -> None:
    site = remote_site
    site.validate()
    uri = site.uris["processed/gauges.csv"]
    site.replace(uri, b"site_no,flow\n1,999\n")
    p = site.run(site.promote())
    assert p.returncode == 1, p.stdout + p.stderr
    assert uri in p.stdout and "DENIED" in p.stdout
    assert site.published() == {}


def test_publish_to_a_gcs_endpoint_that_refuses_the_write_is_exit_2(tmp_path: Path,
                                                                     fake_gcs: Any) -> None:
    """fake-gcs-server answers the create-only XML-API write of a GCS publish with 400:
    one line naming the destination, exit 2, nothing published, nothing on the ledger."""
    site = Site(tmp_path, fake_gcs, fake_gcs.env, remote=True)
    site.validate()
    p = site.run(site.promote())
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1 and f"{site.root}/" in err, err
    assert site.ledger_refs() == ""
    assert site.published() == {}
