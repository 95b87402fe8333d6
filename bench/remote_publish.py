"""The publish half of `bench/remote.py`: create-only copy + re-verification against a
plain boto3 copy, measured in the same run on the same local S3 server.

`register(SECTIONS)` adds the `publish` section; `bench/remote.py` imports this module
when it is present and runs it after `digest` on the corpora it uploaded (200 objects of
varied size, 1 GiB in all, and one 1 GiB object). Each contender copies a corpus to a
fresh prefix of the same bucket:

- `kfm`: `promote_action.store.publish` exactly as `promote --publish-to` runs it —
  existence check, conditional-write probe, create-only copy (server-side staging +
  create-only multipart copy for objects over 16 MiB), and a full re-read of every staged
  and published object through SHA-256;
- `boto3 copy` (the reference a user would script): `get_object` → `upload_fileobj` per
  object in a thread pool of 8, no verification;
- `boto3 server copy`: boto3's managed server-side `copy` per object, 8 threads (no bytes
  through the client, no verification);
- `ceiling`: a plain parallel GET that discards the bytes (what the server can serve).

Every contender runs in a fresh process (`python bench/remote_publish.py --child SPEC`,
which gives its peak RSS growth), in interleaved rounds; each published object is checked
against its digest after every round, and a wrong byte fails even `--smoke`.

Targets: kfm ≤ 1.3× the boto3 copy's time on each corpus; the kfm process's peak RSS
grows by at most 64 MiB.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import rss  # noqa: E402  (bench/rss.py, beside this file)

RATIO_TARGET = 1.3  # kfm publish time / boto3 copy time
RSS_LIMIT_MIB = 64
CONTENDERS = ("kfm", "boto3_copy", "boto3_server_copy", "ceiling")
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
       "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}


def client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="bench", aws_secret_access_key="bench",
                        config=Config(max_pool_connections=16, read_timeout=900,
                                      retries={"max_attempts": 2}))


# --- contenders (each runs in a fresh child process: `python bench/publish.py --child`) -

def run_kfm(endpoint: str, bucket: str, objs: list[dict[str, Any]], dest: str) -> None:
    from promote_action.store.publish import PublishOptions, publish
    from promote_action.store.publish_plan import Source, parse_root, plan_publish
    from promote_action.store.settings import StoreSettings

    env = {**ENV, "AWS_ENDPOINT_URL": endpoint}
    sources = [Source(f"s3://{bucket}/{o['key']}", o["digest"], o["size"], "", o["etag"])
               for o in objs]
    plan = plan_publish(parse_root(f"s3://{bucket}/{dest}"), "bench", "2026-01.000000000000",
                        sources)
    out = publish(plan, StoreSettings.from_env(env), PublishOptions())
    assert all(o.status == "created" for o in out), out


def run_boto3_copy(endpoint: str, bucket: str, objs: list[dict[str, Any]], dest: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    c = client(endpoint)

    def one(o: dict[str, Any]) -> None:
        body = c.get_object(Bucket=bucket, Key=o["key"])["Body"]
        c.upload_fileobj(body, bucket, f"{dest}/{o['key'].rsplit('/', 1)[1]}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, objs))


def run_boto3_server_copy(endpoint: str, bucket: str, objs: list[dict[str, Any]],
                          dest: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    c = client(endpoint)

    def one(o: dict[str, Any]) -> None:
        c.copy({"Bucket": bucket, "Key": o["key"]}, bucket,
               f"{dest}/{o['key'].rsplit('/', 1)[1]}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, objs))


def run_ceiling(endpoint: str, bucket: str, objs: list[dict[str, Any]], dest: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    c = client(endpoint)

    def one(o: dict[str, Any]) -> None:
        body = c.get_object(Bucket=bucket, Key=o["key"])["Body"]
        while body.read(1024 * 1024):
            pass

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, objs))


RUNNERS = {"kfm": run_kfm, "boto3_copy": run_boto3_copy,
           "boto3_server_copy": run_boto3_server_copy, "ceiling": run_ceiling}


def child(spec: dict[str, Any]) -> None:
    """Import what the contender needs, then time only the copy; print JSON."""
    import boto3  # noqa: F401 - imported before the baseline for every contender alike

    import promote_action.store.publish  # noqa: F401
    base = rss.baseline()
    t0 = time.perf_counter()
    RUNNERS[spec["who"]](spec["endpoint"], spec["bucket"], spec["objs"], spec["dest"])
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "rss_growth_mib": rss.growth(base) / 2**20}))


def run_child(spec: dict[str, Any]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                           json.dumps(spec)],
                          capture_output=True, text=True, check=False, timeout=3600)
    if proc.returncode:
        raise SystemExit(f"{spec['who']} failed: {proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def check_and_clear(endpoint: str, bucket: str, objs: list[dict[str, Any]], dest: str,
                    verify: bool) -> list[str]:
    """Digests of what a contender published (when `verify`), then delete it."""
    c = client(endpoint)
    bad = []
    keys = [o["Key"] for page in c.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=dest + "/") for o in page.get("Contents", [])]
    if verify:
        want = {o["digest"] for o in objs}
        published = [k for k in keys if "/.kfm-staging/" not in k]
        if len(published) != len(objs):
            bad.append(f"{dest}: {len(published)} objects, expected {len(objs)}")
        for k in published:
            h = hashlib.sha256()
            body = c.get_object(Bucket=bucket, Key=k)["Body"]
            while chunk := body.read(1024 * 1024):
                h.update(chunk)
            if "sha256:" + h.hexdigest() not in want:
                bad.append(f"{k}: wrong bytes")
    for i in range(0, len(keys), 1000):
        c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k}
                                                            for k in keys[i:i + 1000]]})
    return bad


def bench_case(endpoint: str, bucket: str, case: str, objs: list[dict[str, Any]], runs: int
               ) -> tuple[dict[str, list[dict[str, float]]], list[str]]:
    results: dict[str, list[dict[str, float]]] = {w: [] for w in CONTENDERS}
    bad: list[str] = []
    for r in range(runs):
        order = CONTENDERS[r % len(CONTENDERS):] + CONTENDERS[:r % len(CONTENDERS)]
        for who in order:
            dest = f"out/{case}/{who}/{r}"
            spec = {"who": who, "endpoint": endpoint, "bucket": bucket, "objs": objs,
                    "dest": dest}
            results[who].append(run_child(spec))
            bad += check_and_clear(endpoint, bucket, objs, dest, verify=who != "ceiling")
    return results, bad


def summarize(case: str, total: int, results: dict[str, list[dict[str, float]]],
              smoke: bool) -> tuple[list[str], list[str]]:
    med = {w: statistics.median(r["seconds"] for r in rs) for w, rs in results.items()}
    mb = total / 1e6
    lines = [f"  {case}", f"  {'contender':<18} {'median s':>9} {'MB/s':>7} "
             f"{'x boto3 copy':>13} {'peak RSS growth':>16}"]
    for w in CONTENDERS:
        rss = max(r["rss_growth_mib"] for r in results[w])
        lines.append(f"  {w:<18} {med[w]:>9.2f} {mb / med[w]:>7.0f} "
                     f"{med[w] / med['boto3_copy']:>13.2f} {rss:>12.1f} MiB")
    misses = []
    ratio = med["kfm"] / med["boto3_copy"]
    rss = max(r["rss_growth_mib"] for r in results["kfm"])
    lines += [f"  kfm publish / boto3 copy = {ratio:.2f} (target <= {RATIO_TARGET}); "
              f"kfm / server ceiling (one read) = {med['kfm'] / med['ceiling']:.2f}; "
              f"peak RSS growth {rss:.0f} MiB (limit {RSS_LIMIT_MIB})", ""]
    if not smoke:
        if ratio > RATIO_TARGET:
            misses.append(f"{case}: publish {ratio:.2f}x boto3 copy > {RATIO_TARGET}")
        if rss > RSS_LIMIT_MIB:
            misses.append(f"{case}: peak RSS +{rss:.0f} MiB > {RSS_LIMIT_MIB}")
    return lines, misses


def objects_of(bench: Any, corpus: str) -> list[dict[str, Any]]:
    """The corpus as the gates would have pinned it: key, size, ETag, digest."""
    c = client(bench.endpoint)
    out = []
    for key, digest in sorted(bench.corpora[corpus].items()):
        meta = c.head_object(Bucket=bench.bucket, Key=key)
        out.append({"key": key, "size": meta["ContentLength"], "etag": meta["ETag"],
                    "digest": digest})
    return out


def publish_section(bench: Any) -> tuple[list[str], bool]:
    """The `publish` section of bench/remote.py: (lines, every target met)."""
    lines: list[str] = []
    misses: list[str] = []
    for corpus in sorted(bench.corpora):
        objs = objects_of(bench, corpus)
        total = sum(o["size"] for o in objs)
        results, bad = bench_case(bench.endpoint, bench.bucket, corpus, objs, bench.runs)
        misses += bad
        got, missed = summarize(f"{corpus}: {len(objs)} object(s), {total / 2**20:.0f} MiB",
                                total, results, bench.smoke)
        lines += got
        misses += missed
    lines += [f"  MISSED: {m}" for m in misses]
    return lines, not misses


def register(sections: dict[str, Any]) -> None:
    sections["publish"] = publish_section


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="worker of bench/remote.py's publish section")
    ap.add_argument("--child", required=True)
    args = ap.parse_args(argv)
    child(json.loads(args.child))
    return 0


if __name__ == "__main__":
    sys.exit(main())
