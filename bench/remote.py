"""Object storage: digest throughput on a local S3 server, against what a user would
script, measured in the same run.

A moto S3 server runs in its own process on 127.0.0.1 (so its Python does not compete
with the contenders for one interpreter). Two corpora are uploaded: 200 objects of varied
size totalling 1 GiB, and one 1 GiB object. Each contender runs in a fresh process
(interleaved rounds, rotating order), which also gives its peak-RSS growth:

- `kfm`: `promote_action.store.hash_objects` (HEAD pin, If-Match GET, streamed SHA-256,
  objects in parallel) with default settings;
- `boto3-pool`: boto3 `get_object` per object in a thread pool (8 workers), body streamed
  into `hashlib` — the script a user would write;
- `boto3-stream`: one streamed `get_object` at a time into `hashlib`;
- `ceiling`: plain parallel GETs (8 connections, `http.client`) that discard the bytes —
  the server's own limit, so the ratio to the limit is visible.

    python bench/remote.py              # 200 objects / 1 GiB + one 1 GiB object, 3 runs
    python bench/remote.py --smoke      # tiny data, one run, no targets (used by tests)
    python bench/remote.py --only digest

Targets: kfm >= 1.0x the best reference's throughput on each corpus; peak RSS growth of
the kfm process <= 64 MiB. Every contender's digests are checked against the digests
computed while uploading; a mismatch fails even --smoke.

Sections: `SECTIONS` maps a name to a function `(Bench) -> (lines, ok)`; `digest` is
defined here, and a `remote_publish.py` beside this file, when present, registers
`publish` the same way (copy + verify against a plain parallel boto3 copy).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import rss  # noqa: E402  (bench/rss.py, beside this file)

DIGEST_TARGET = 1.0  # x the best reference's throughput
RSS_LIMIT_MIB = 64
WORKERS = 8
MIB = 1024 * 1024


@dataclass
class Bench:
    """A running local S3 server with uploaded corpora, shared by every section."""

    endpoint: str
    bucket: str
    corpora: dict[str, dict[str, str]]  # corpus -> key -> sha256 digest
    runs: int
    smoke: bool
    proc: subprocess.Popen[bytes] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ALLOW_HTTP": "true", "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="bench", aws_secret_access_key="bench",
                            config=Config(max_pool_connections=WORKERS * 2))

    def size(self, corpus: str) -> int:
        c = self.client()
        return sum(c.head_object(Bucket=self.bucket, Key=k)["ContentLength"]
                   for k in self.corpora[corpus])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):  # bounded wait for the port
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, endpoint
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("moto server did not start")


class RandomReader:
    """A file-like of `size` seeded pseudo-random bytes that hashes what it serves."""

    def __init__(self, size: int, seed: int):
        self.left = size
        self.rng = random.Random(seed)
        self.h = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.rng.randbytes(n)
        self.left -= n
        self.h.update(data)
        return data


def upload(bench_client: Any, bucket: str, key: str, size: int, seed: int) -> str:
    from boto3.s3.transfer import TransferConfig

    reader = RandomReader(size, seed)
    bench_client.upload_fileobj(reader, bucket, key, Config=TransferConfig(
        multipart_threshold=64 * MIB, multipart_chunksize=64 * MIB, max_concurrency=1))
    return "sha256:" + reader.h.hexdigest()


def make_corpora(client: Any, bucket: str, objects: int, total: int, big: int
                 ) -> dict[str, dict[str, str]]:
    rng = random.Random(20260228)
    weights = [rng.lognormvariate(0, 1) for _ in range(objects)]
    sizes = [max(1, int(w * total / sum(weights))) for w in weights]
    sizes[-1] += total - sum(sizes)
    many = {f"many/part-{i:04d}.bin": upload(client, bucket, f"many/part-{i:04d}.bin", n, i)
            for i, n in enumerate(sizes)}
    one = {"big/one.bin": upload(client, bucket, "big/one.bin", big, 99991)}
    return {"many": many, "one": one}


# --- contenders (run inside a worker process) ------------------------------------------

def run_kfm(endpoint: str, bucket: str, keys: list[str], prep: Any) -> dict[str, str]:
    from promote_action.store import hash_objects

    pins = hash_objects([f"s3://{bucket}/{k}" for k in keys], prep)
    return {k: pins[f"s3://{bucket}/{k}"].digest for k in keys}


def _boto_hash(client: Any, bucket: str, key: str) -> str:
    h = hashlib.sha256()
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in body.iter_chunks(MIB):
        h.update(chunk)
    return "sha256:" + h.hexdigest()


def run_boto3_pool(endpoint: str, bucket: str, keys: list[str], client: Any
                   ) -> dict[str, str]:
    with ThreadPoolExecutor(WORKERS) as pool:
        digests = list(pool.map(lambda k: _boto_hash(client, bucket, k), keys))
    return dict(zip(keys, digests, strict=True))


def run_boto3_stream(endpoint: str, bucket: str, keys: list[str], client: Any
                     ) -> dict[str, str]:
    return {k: _boto_hash(client, bucket, k) for k in keys}


def _discard(host: str, port: int, path: str) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=600)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        buf = bytearray(MIB)
        n = total = 0
        while (n := resp.readinto(buf)):
            total += n
        return total
    finally:
        conn.close()


def run_ceiling(endpoint: str, bucket: str, keys: list[str], _: Any) -> dict[str, str]:
    host, port = endpoint.removeprefix("http://").split(":")
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda k: _discard(host, int(port), f"/{bucket}/{k}"), keys))
    return {}  # nothing hashed: the limit of the server, not a digest


CONTENDERS: dict[str, Callable[[str, str, list[str], Any], dict[str, str]]] = {
    "kfm": run_kfm, "boto3-pool": run_boto3_pool, "boto3-stream": run_boto3_stream,
    "ceiling": run_ceiling}


def worker(name: str, endpoint: str, bucket: str, keys: list[str]) -> None:
    """Run one contender once in this fresh process; print timing, RSS growth, digests."""
    fn = CONTENDERS[name]
    # Set-up outside the timing, for every contender alike: settings and the store (kfm),
    # the client (boto3); imports happen here too, before the RSS baseline.
    prep: Any = None
    if name == "kfm":
        from promote_action.store import StoreSettings, parse_uri
        from promote_action.store.client import store_for

        prep = StoreSettings.from_env(os.environ)
        store_for(parse_uri(f"s3://{bucket}/{keys[0]}"), prep)
    elif name.startswith("boto3"):
        prep = Bench(endpoint, bucket, {}, 1, False).client()
    base = rss.baseline()
    t0 = time.perf_counter()
    digests = fn(endpoint, bucket, keys, prep)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "growth": rss.growth(base), "digests": digests}))


def measure(bench: Bench, name: str, corpus: str) -> dict[str, Any]:
    keys = sorted(bench.corpora[corpus])
    proc = subprocess.run([sys.executable, __file__, "--worker", name, "--endpoint",
                           bench.endpoint, "--bucket", bench.bucket, *keys],
                          capture_output=True, text=True, timeout=3600, check=False,
                          env={**os.environ, **bench.env})
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed on {corpus}:\n{proc.stdout[-2000:]}"
                         f"{proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["digests"] and out["digests"] != bench.corpora[corpus]:
        raise SystemExit(f"{name}: digests differ from the uploaded bytes on {corpus}")
    return out


# --- sections --------------------------------------------------------------------------

def digest_section(bench: Bench) -> tuple[list[str], bool]:
    ok = True
    lines = [f"{'corpus':<34}{'contender':<14}{'MB/s':>9}{'median s':>10}"
             f"{'RSS +MiB':>10}{'x best ref':>12}{'x ceiling':>11}"]
    for corpus, label in (("many", f"{len(bench.corpora['many'])} objects"),
                          ("one", "one object")):
        total = bench.size(corpus)
        label = f"{label}, {total / MIB:.0f} MiB"
        times: dict[str, list[float]] = {n: [] for n in CONTENDERS}
        growth: dict[str, int] = dict.fromkeys(CONTENDERS, 0)
        order = list(CONTENDERS)
        for r in range(bench.runs):
            for name in order[r % len(order):] + order[:r % len(order)]:
                out = measure(bench, name, corpus)
                times[name].append(out["seconds"])
                growth[name] = max(growth[name], out["growth"])
        rate = {n: total / statistics.median(t) / 1e6 for n, t in times.items()}
        best_ref = max(rate["boto3-pool"], rate["boto3-stream"])
        for name in CONTENDERS:
            lines.append(f"{label:<34}{name:<14}{rate[name]:>9.1f}"
                         f"{statistics.median(times[name]):>10.2f}"
                         f"{growth[name] / MIB:>10.1f}{rate[name] / best_ref:>12.2f}"
                         f"{rate[name] / rate['ceiling']:>11.2f}")
        if not bench.smoke:
            if rate["kfm"] < DIGEST_TARGET * best_ref:
                ok = False
                lines.append(f"  MISSED: kfm {rate['kfm']:.1f} MB/s < {DIGEST_TARGET}x best "
                             f"reference {best_ref:.1f} MB/s")
            if growth["kfm"] > RSS_LIMIT_MIB * MIB:
                ok = False
                lines.append(f"  MISSED: kfm peak RSS grew {growth['kfm'] / MIB:.1f} MiB "
                             f"> {RSS_LIMIT_MIB} MiB")
    return lines, ok


SECTIONS: dict[str, Callable[[Bench], tuple[list[str], bool]]] = {"digest": digest_section}
try:  # the publish half lives beside this file and registers itself here
    import remote_publish  # type: ignore[import-not-found]

    remote_publish.register(SECTIONS)
except ImportError:
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=sorted(SECTIONS), action="append")
    ap.add_argument("--worker", choices=sorted(CONTENDERS))
    ap.add_argument("--endpoint")
    ap.add_argument("--bucket")
    ap.add_argument("keys", nargs="*")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.endpoint, args.bucket, args.keys)
        return 0
    objects, total, big = (20, 4 * MIB, 4 * MIB) if args.smoke else (200, 1024 * MIB,
                                                                     1024 * MIB)
    proc, endpoint = start_server()
    try:
        client = Bench(endpoint, "bench", {}, 1, False).client()
        client.create_bucket(Bucket="bench")
        t0 = time.perf_counter()
        corpora = make_corpora(client, "bench", objects, total, big)
        bench = Bench(endpoint, "bench", corpora, 1 if args.smoke else args.runs,
                      args.smoke, proc)
        print(f"local S3 server (moto, own process); uploaded {objects} objects "
              f"({total / MIB:.0f} MiB) + 1 object ({big / MIB:.0f} MiB) in "
              f"{time.perf_counter() - t0:.1f}s; {bench.runs} run(s), median; "
              f"{WORKERS} workers for the references")
        ok = True
        summary: dict[str, Any] = {"bench": "remote", "sections": []}
        for name in args.only or list(SECTIONS):
            lines, good = SECTIONS[name](bench)
            print(f"\n[{name}]" + ("" if good else "  TARGET MISSED"))
            print("\n".join(lines))
            ok &= good
            summary["sections"].append(name)
        print(json.dumps(summary))
        return 0 if ok or args.smoke else 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
