"""Sharded search on Ray Serve against one daemon queried directly, on the same machine and
queries: the 60,605 Debian reference vectors as 1, 2 and 4 shards (2 replicas each) behind
mrl_ray's router over HTTP, and as one index behind one `mrl serve` over its socket; 1,000
title vectors as queries (k = 10, each index's default plan), at 1 and 8 concurrent clients.
Usage: tools/bench/ray_venv.sh && tools/.venv/bin/python tools/bench/ray_router.py
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ray import serve

import mrl_ray
from mrl import LocalDaemon
from mrl_ray import build_shards
from mrl_ray.serving import deploy

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
MRL = os.environ.get("MRL_BIN") or str(REPO / ".build" / "release" / "mrl")
QUERIES = 1_000


def measure(ask, queries: np.ndarray, clients: int) -> tuple[float, float, float]:
    """QPS, p50 and p99 ms of `ask` over all queries from `clients` threads."""
    def timed(query: np.ndarray) -> float:
        started = time.perf_counter()
        ask(query.tolist())
        return (time.perf_counter() - started) * 1000

    for query in queries[:50]:
        ask(query.tolist())  # warm up
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = sorted(pool.map(timed, queries))
    seconds = time.perf_counter() - started
    return len(queries) / seconds, statistics.median(latencies), latencies[int(len(latencies) * 0.99)]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ray-router-"))
    vectors = np.load(SHARED / "minilm-debian-docs.f16.npy").astype(np.float32)
    with gzip.open(SHARED / "debian-packages.jsonl.gz", "rt") as lines:
        ids = [json.loads(line)["id"] for line in lines]
    pq.write_table(pa.table({"id": ids, "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])}),
                   folder / "vectors.parquet")
    queries = np.load(SHARED / "minilm-debian-titles.f16.npy").astype(np.float32)[:QUERIES]
    mrl_ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows = []

    one = build_shards(folder / "vectors.parquet", folder / "build-1", shards=1, binary=MRL)
    direct = LocalDaemon(Path(one.shards[0].path).parent, binary=MRL)
    with direct.client() as client:
        for clients in (1, 8):
            rows.append(("daemon, direct (Unix socket)", clients) + measure(lambda v: client.search(one.shards[0].name, vector=v, k=10), queries, clients))
    direct.stop()

    for shards in (1, 2, 4):
        build = folder / f"build-{shards}" if shards > 1 else folder / "build-1"
        if shards > 1:
            build_shards(folder / "vectors.parquet", build, shards=shards, binary=MRL)
        deploy(str(build), replicas=2, num_cpus=0.2, binary=MRL)
        http = httpx.Client(timeout=60)
        ask = lambda v: http.post("http://127.0.0.1:8000/indexes/shard/search", json={"vector": v, "k": 10}).raise_for_status()
        for clients in (1, 8):
            rows.append((f"Ray Serve router, {shards} shard{'s' if shards > 1 else ''} x 2 replicas", clients) + measure(ask, queries, clients))
        serve.shutdown()

    print(f"\n{QUERIES} Debian title vectors, k = 10, default plan; 60,605 documents; 2 cores\n")
    print("| served by | clients | QPS | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for name, clients, qps, p50, p99 in rows:
        print(f"| {name} | {clients} | {qps:,.0f} | {p50:.2f} | {p99:.2f} |")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
