"""Publish (create-only copy + re-verification) against a plain boto3 copy, same run.

A local S3 server (moto, in its own process on 127.0.0.1) holds the version's objects
under `work/`; each contender copies them to a fresh prefix of the same bucket:

- `kfm publish`: `promote_action.store.publish` exactly as `promote --publish-to` runs
  it — existence check, conditional-write probe, create-only copy (server-side staging +
  create-only multipart copy for objects over 4 MiB), and a full re-read of every staged
  and published object through SHA-256;
- `boto3 copy` (the reference a user would script): `get_object` → `upload_fileobj` per
  object in a thread pool of 8, no verification;
- `boto3 server copy`: `copy_object` / managed `copy` per object in a thread pool of 8
  (no bytes through the client, no verification);
- `ceiling`: a plain parallel GET that discards the bytes (what the server can serve).

Every contender runs in a fresh process (its peak RSS growth is measured there), in
interleaved rounds so load on a shared machine hits all alike; each published object is
checked against its digest before anything is timed.

    python bench/publish.py            # 200 objects / 1 GiB and one 1 GiB object, 3 rounds
    python bench/publish.py --smoke    # tiny, one round, no targets (run by the tests)

Exit status 1 when a target is missed (never in --smoke) or a published object is wrong.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RATIO_TARGET = 1.3  # kfm publish time / boto3 copy time
RSS_LIMIT_MIB = 64
CONTENDERS = ("kfm", "boto3_copy", "boto3_server_copy", "ceiling")
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
       "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = ("import logging,time;logging.getLogger('werkzeug').setLevel(logging.ERROR);"
            "from moto.server import ThreadedMotoServer;"
            f"s=ThreadedMotoServer(ip_address='127.0.0.1',port={port},verbose=False);"
            "s.start();time.sleep(86400)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="bench", aws_secret_access_key="bench",
                        config=Config(max_pool_connections=16))


def seed(endpoint: str, bucket: str, case: str, count: int, size: int) -> list[dict[str, Any]]:
    """Upload `count` random objects of `size` bytes under work/<case>/ (not timed)."""
    c = client(endpoint)
    out = []
    block = os.urandom(1024 * 1024)
    for i in range(count):
        key = f"work/{case}/run-1/part-{i:04d}.bin"
        salt = i.to_bytes(8, "big")
        data = (salt + block * (size // len(block) + 1))[:size]
        c.put_object(Bucket=bucket, Key=key, Body=data)
        etag = c.head_object(Bucket=bucket, Key=key)["ETag"]
        out.append({"key": key, "size": size, "etag": etag,
                    "digest": "sha256:" + hashlib.sha256(data).hexdigest()})
        del data
    return out


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
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    RUNNERS[spec["who"]](spec["endpoint"], spec["bucket"], spec["objs"], spec["dest"])
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rss_growth_mib": (peak - base) / 1024}))


def run_child(spec: dict[str, Any]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
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


def bench_case(endpoint: str, bucket: str, case: str, count: int, size: int, runs: int
               ) -> tuple[dict[str, list[dict[str, float]]], list[str]]:
    objs = seed(endpoint, bucket, case, count, size)
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
    lines = [f"### {case}", "", "| contender | median s | MB/s | × boto3 copy | peak RSS growth |",
             "|---|---|---|---|---|"]
    for w in CONTENDERS:
        rss = max(r["rss_growth_mib"] for r in results[w])
        lines.append(f"| {w} | {med[w]:.2f} | {mb / med[w]:.0f} | "
                     f"{med[w] / med['boto3_copy']:.2f} | {rss:.0f} MiB |")
    misses = []
    ratio = med["kfm"] / med["boto3_copy"]
    rss = max(r["rss_growth_mib"] for r in results["kfm"])
    lines += ["", f"kfm publish / boto3 copy = {ratio:.2f} (target ≤ {RATIO_TARGET}); "
                  f"kfm / server ceiling (one read) = {med['kfm'] / med['ceiling']:.2f}; "
                  f"peak RSS growth {rss:.0f} MiB (limit {RSS_LIMIT_MIB})", ""]
    if not smoke:
        if ratio > RATIO_TARGET:
            misses.append(f"{case}: publish {ratio:.2f}x boto3 copy > {RATIO_TARGET}")
        if rss > RSS_LIMIT_MIB:
            misses.append(f"{case}: peak RSS +{rss:.0f} MiB > {RSS_LIMIT_MIB}")
    return lines, misses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny data, one round, no targets")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    gib = 1024 ** 3
    cases = ([("many", 20, 64 * 1024), ("one", 1, 6 * 1024 * 1024)] if args.smoke else
             [("many", 200, gib // 200), ("one", 1, gib)])
    runs = 1 if args.smoke else args.runs
    server, endpoint = start_server()
    try:
        c = client(endpoint)
        bucket = "bench-lake"
        c.create_bucket(Bucket=bucket)
        out = ["## Publish (`bench/publish.py`)", ""]
        misses: list[str] = []
        summary: dict[str, Any] = {"bench": "publish"}
        for case, count, size in cases:
            results, bad = bench_case(endpoint, bucket, case, count, size, runs)
            misses += bad
            lines, missed = summarize(f"{case}: {count} × {size / 2**20:.1f} MiB", count * size,
                                      results, args.smoke)
            out += lines
            misses += missed
            summary[case] = {w: statistics.median(r["seconds"] for r in rs)
                             for w, rs in results.items()}
        print("\n".join(out))
        for m in misses:
            print(f"MISSED: {m}")
        print(json.dumps(summary))
        return 1 if misses else 0
    finally:
        server.kill()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
