"""The publisher against real object-store servers on 127.0.0.1 (moto S3, Azurite for
Azure Blob; fake-gcs-server as a GCS *source*): create-only copies, idempotent re-runs,
conflicts, a store that ignores conditional writes, faults.

Every failure must be one line naming the URI, and leave no object under a final key."""

from __future__ import annotations

from typing import Any

import pytest
from publish_support import (
    MIB,
    SLUG,
    VERSION,
    IgnoresConditionalWrites,
    behind_proxy,
    keys,
    plan_for,
    random_bytes,
    remote_source,
    settings,
    sha,
)

from promote_action.errors import EXIT
from promote_action.store.errors import (
    ConditionalPutUnsupportedError,
    DestinationConflictError,
    ObjectChangedError,
    StoreAccessError,
)
from promote_action.store.publish import PublishOptions, publish
from promote_action.store.publish_plan import Source

FINAL = f"processed/{SLUG}/{VERSION}/"
SMALL = PublishOptions(small=64 * 1024)  # objects above 64 KiB take the staging path


def left_behind(store: Any, bucket: str) -> dict[str, bytes]:
    """Objects under `processed/` after a refused publish through a proxy. Azurite
    answers the blob-batch delete obstore sends with 500 when the request is
    SAS-authenticated (as behind the proxies here), so on Azure the conditional-write
    probe and staging objects may stay in staging; nothing is under a final key."""
    left = keys(store, bucket, "processed/")
    if store.scheme == "az":
        left = {k: v for k, v in left.items() if not k.startswith("processed/.kfm-staging/")}
    return left


def one_line(err: BaseException, uri: str) -> str:
    line = err.diagnostics()  # type: ignore[attr-defined]
    assert uri in line and "\n" not in line, line
    return line


@pytest.fixture(params=["s3", "az"])
def lake(request: pytest.FixtureRequest, store_env: Any) -> dict[str, Any]:
    """A bucket (S3) or container (Azure) with a small and a large source object."""
    store = request.getfixturevalue({"s3": "s3_server", "az": "azurite"}[request.param])
    env = store_env(store.env)
    bucket = store.bucket()
    small = remote_source(store, bucket, "work/g/run-7/gauges.csv", b"id,flow\n1,2.5\n")
    large = remote_source(store, bucket, "work/g/run-7/tiles/a.bin", random_bytes(MIB))
    return {"env": env, "bucket": bucket, "sources": [small, large], "store": store,
            "root": f"{store.scheme}://{bucket}/processed"}


def test_publishes_create_only_and_rerun_is_noop(lake: dict[str, Any]) -> None:
    s3_server = lake["store"]
    plan = plan_for(lake["root"], lake["sources"])
    assert [i.rel for i in plan.items] == ["gauges.csv", "tiles/a.bin"]
    dry = publish(plan, settings(lake["env"]), SMALL, dry_run=True)
    assert {o.status for o in dry} == {"would_create"}
    assert keys(s3_server, lake["bucket"], "processed/") == {}  # a dry run writes nothing
    out = publish(plan, settings(lake["env"]), SMALL)
    assert [o.status for o in out] == ["created", "created"]
    published = keys(s3_server, lake["bucket"], "processed/")
    assert sorted(published) == [FINAL + "gauges.csv", FINAL + "tiles/a.bin"]
    assert {sha(b) for b in published.values()} == {s.digest for s in lake["sources"]}
    again = publish(plan, settings(lake["env"]), SMALL)
    assert [o.status for o in again] == ["exists", "exists"]
    assert keys(s3_server, lake["bucket"], "processed/") == published


def test_cross_bucket_and_workspace_sources_stream(lake: dict[str, Any],
                                                   tmp_path: Any) -> None:
    from promote_action.digests import Workspace

    s3_server = lake["store"]
    other = s3_server.bucket()
    data = random_bytes(300 * 1024)
    (tmp_path / "processed").mkdir()
    (tmp_path / "processed" / "local.bin").write_bytes(data[:100_000])
    sources = [remote_source(s3_server, other, "x/big.bin", data),
               Source("processed/local.bin", sha(data[:100_000]), 100_000)]
    plan = plan_for(lake["root"], sources)
    out = publish(plan, settings(lake["env"]), PublishOptions(
        workspace=Workspace(tmp_path), small=64 * 1024))
    assert {o.status for o in out} == {"created"}
    got = keys(s3_server, lake["bucket"], "processed/")
    assert got[FINAL + "big.bin"] == data
    assert got[FINAL + "processed/local.bin"] == data[:100_000]
    assert not keys(s3_server, lake["bucket"], "processed/.kfm-staging")  # cleaned up


def test_destination_with_other_bytes_is_denied_and_nothing_is_published(
        lake: dict[str, Any]) -> None:
    s3_server = lake["store"]
    plan = plan_for(lake["root"], lake["sources"])
    s3_server.put(lake["bucket"], FINAL + "tiles/a.bin", b"someone else's bytes")
    with pytest.raises(DestinationConflictError) as info:
        publish(plan, settings(lake["env"]), SMALL)
    assert info.value.exit_code == EXIT.DENY
    assert "already exists with other bytes" in one_line(info.value, plan.items[1].dest.uri)
    assert sorted(keys(s3_server, lake["bucket"], "processed/")) == [FINAL + "tiles/a.bin"]


@pytest.mark.parametrize("which", [0, 1], ids=["small", "large"])
def test_source_replaced_after_validation_is_object_changed(
        lake: dict[str, Any], which: int) -> None:
    """The pin (ETag + digest) was taken at validation; other bytes now under the same
    key are a deny, and nothing appears under the final key."""
    s3_server = lake["store"]
    plan = plan_for(lake["root"], lake["sources"])
    src = lake["sources"][which]
    s3_server.put(lake["bucket"], src.path.split("/", 3)[3], b"replaced")
    with pytest.raises(ObjectChangedError) as info:
        publish(plan, settings(lake["env"]), SMALL)
    assert info.value.exit_code == EXIT.DENY
    one_line(info.value, src.path)
    assert plan.items[which].dest.uri not in {
        f"{lake['root']}/{k.removeprefix('processed/')}"
        for k in keys(s3_server, lake["bucket"], "processed/")}
    assert not keys(s3_server, lake["bucket"], "processed/.kfm-staging")


@pytest.mark.parametrize("object_store", ["s3", "az"], indirect=True)
def test_store_that_ignores_if_none_match_is_refused(object_store: Any,
                                                     store_env: Any) -> None:
    """The store drops `If-None-Match` (a gateway in front of it): a create-only write
    that overwrites must be detected by the probe and publishing refused."""
    with behind_proxy(object_store, store_env, "work/a.csv", b"a\n",
                      IgnoresConditionalWrites) as run:
        with pytest.raises(ConditionalPutUnsupportedError) as info:
            publish(run.plan, settings(run.env), SMALL)
        assert info.value.exit_code == EXIT.BAD_INPUT
        line = one_line(info.value, f"{object_store.scheme}://{run.bucket}/processed/"
                                    f".kfm-staging/{SLUG}/{VERSION}/probe")
        assert "ignores conditional writes" in line
        assert left_behind(object_store, run.bucket) == {}  # probe cleaned, nothing copied


@pytest.mark.parametrize("object_store", ["s3", "az"], indirect=True)
@pytest.mark.parametrize(("status", "words"), [(403, "access denied (403)"), (503, "503")])
def test_destination_faults_are_one_line_and_leave_nothing(
        object_store: Any, store_env: Any, status: int, words: str) -> None:
    with behind_proxy(object_store, store_env, "work/a.csv", b"a,b\n") as run:
        run.proxy.faults.add(run.path(f"{FINAL}a.csv"), status=status, method="PUT",
                             times=50)
        with pytest.raises(StoreAccessError) as info:
            publish(run.plan, settings(run.env), SMALL)
        assert info.value.exit_code == EXIT.BAD_INPUT
        assert words in one_line(info.value, run.plan.items[0].dest.uri)
        assert left_behind(object_store, run.bucket) == {}


def test_refuses_keys_that_climb_out_of_the_prefix() -> None:
    from promote_action.store.errors import BadURIError

    for bad in ("../escape.csv", "a//b.csv", "a/%2e%2e/b.csv", "a\\b.csv"):
        with pytest.raises(BadURIError):
            plan_for("s3://lake/processed", [Source(bad, sha(b""), 0)])


@pytest.mark.parametrize("object_store", ["s3", "az"], indirect=True)
def test_failed_create_only_copy_leaves_no_partial_object_and_rerun_completes(
        object_store: Any, store_env: Any) -> None:
    """The large path: the create-only copy from staging to the final key fails (500s;
    S3: the multipart copy's completion, Azure: the Copy Blob); nothing is visible under
    the final key; a re-run completes the copy."""
    with behind_proxy(object_store, store_env, "work/big.bin", random_bytes(MIB)) as run:
        if object_store.scheme == "s3":  # the initiate passes, every completion fails
            run.proxy.faults.add(run.path(f"{FINAL}big.bin"), status=500, method="POST",
                                 times=50, after=1)
        else:
            run.proxy.faults.add(run.path(f"{FINAL}big.bin"), status=500, method="PUT",
                                 times=50)
        with pytest.raises(StoreAccessError) as info:
            publish(run.plan, settings(run.env), SMALL)
        one_line(info.value, run.plan.items[0].dest.uri)
        assert left_behind(object_store, run.bucket) == {}
        run.proxy.faults.clear()
        assert [o.status for o in publish(run.plan, settings(run.env), SMALL)] == ["created"]
        final = keys(object_store, run.bucket, FINAL)
        assert list(final) == [FINAL + "big.bin"]
        assert sha(final[FINAL + "big.bin"]) == run.src.digest


def test_relative_paths_keep_the_pipeline_layout_and_refuse_collisions() -> None:
    from promote_action.errors import InputError
    from promote_action.store.publish_plan import relative_paths

    run = "s3://lake/work/g/run-7"
    assert relative_paths([f"{run}/a.parquet", f"{run}/t/b.tif", "processed/c.csv"]) == {
        f"{run}/a.parquet": "a.parquet", f"{run}/t/b.tif": "t/b.tif",
        "processed/c.csv": "processed/c.csv"}
    assert relative_paths(["s3://lake/w/x.csv"]) == {"s3://lake/w/x.csv": "x.csv"}
    with pytest.raises(InputError, match="would both be published"):
        relative_paths(["s3://lake/w/x.csv", "gs://other/w/X.csv"])


def test_offline_consistency_of_published_fields() -> None:
    from promote_action.ledger.published import published_problem

    prefix = f"s3://lake/processed/{SLUG}/{VERSION}/"
    good = {"dataset_slug": SLUG, "dataset_version_id": VERSION, "published_prefix": prefix,
            "artifacts": [{"path": "s3://lake/work/r/a.csv", "published_uri": prefix + "a.csv"},
                          {"path": "s3://lake/work/r/t/b.tif",
                           "published_uri": prefix + "t/b.tif"}]}
    pointer = b'{"published_prefix": "%s"}' % prefix.encode()
    assert published_problem(good, pointer) is None
    moved = {**good, "artifacts": [good["artifacts"][0],
                                   {**good["artifacts"][1], "published_uri": prefix + "b.tif"}]}
    assert "is not" in (published_problem(moved, pointer) or "")
    other = {**good, "published_prefix": "s3://lake/processed/other/x/"}
    assert "does not end with" in (published_problem(other, None) or "")
    assert "pointer names" in (published_problem(good, b'{"published_prefix": "s3://x/"}')
                               or "")
    bare = {"artifacts": [{"path": "a.csv"}]}
    assert published_problem(bare, b"{}") is None
    assert "without a published_prefix" in (published_problem(
        {"artifacts": [{"path": "a", "published_uri": "s3://x/a"}]}, None) or "")
    assert "the manifest does not" in (published_problem(bare, pointer) or "")


def test_many_multi_range_objects_do_not_starve_the_read_slots(s3_server: Any,
                                                               store_env: Any) -> None:
    """More objects than read slots, each read in several ranges: every object must
    finish (an object waiting for a slot must not hold one)."""
    from promote_action.store.digest import hash_objects

    env = store_env({**s3_server.env, "KFM_STORE_CONCURRENCY": "2",
                     "KFM_STORE_CHUNK_MIB": "0.0625"})
    bucket = s3_server.bucket()
    data = {f"work/m/{i}.bin": random_bytes(200 * 1024) for i in range(6)}
    uris = [s3_server.put(bucket, k, v) for k, v in data.items()]
    pins = hash_objects(uris, settings(env))
    assert [pins[u].digest for u in uris] == [sha(v) for v in data.values()]


@pytest.mark.parametrize("moved", [False, True])
def test_rerun_after_a_kill_leaves_no_staging_object(lake: dict[str, Any],
                                                     moved: bool) -> None:
    """A run killed mid-probe or mid-move leaves objects under `.kfm-staging/`; their keys
    derive from the plan, so the re-run reuses or removes them and, once it succeeds,
    nothing is left in staging (with `moved`, the kill came after the create-only move of
    the large object, before its staging object was removed)."""
    store, bucket = lake["store"], lake["bucket"]
    large = lake["sources"][1]
    area = f"processed/.kfm-staging/{SLUG}/{VERSION}/"
    data = keys(store, bucket, "work/g/run-7/tiles/")["work/g/run-7/tiles/a.bin"]
    store.put(bucket, area + large.digest.removeprefix("sha256:"), data)
    store.put(bucket, area + "probe", b"left by a killed probe\n")
    store.put(bucket, area + "probe-src", b"left by a killed probe too\n")
    if moved:
        store.put(bucket, FINAL + "tiles/a.bin", data)
    plan = plan_for(lake["root"], lake["sources"])
    out = publish(plan, settings(lake["env"]), SMALL)
    assert [o.status for o in out] == ["created", "exists" if moved else "created"]
    published = keys(store, bucket, "processed/")
    assert sorted(published) == [FINAL + "gauges.csv", FINAL + "tiles/a.bin"], published
    assert {sha(b) for b in published.values()} == {s.digest for s in lake["sources"]}


def test_byte_budget_bounds_the_bytes_held_at_once() -> None:
    """In-memory copies share one byte budget: small ones run side by side, a large one
    waits until its bytes fit, one larger than the whole budget runs alone."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from promote_action.store.publish import ByteBudget

    budget = ByteBudget(10)
    lock = threading.Lock()
    held = [0, 0]  # now, peak

    def work(n: int) -> None:
        with budget.take(n):
            with lock:
                held[0] += min(n, 10)
                held[1] = max(held[1], held[0])
            time.sleep(0.02)
            with lock:
                held[0] -= min(n, 10)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, [6, 6, 3, 3, 1, 25]))
    assert held == [0, 10]
