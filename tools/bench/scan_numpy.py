#!/usr/bin/env python3
"""The numpy peer of `mrl-bench scan`: exact cosine top-k over a prefix, one query at a time.

numpy at its best: for each prefix a contiguous, pre-normalized float32 matrix, so a query is
one gemv (OpenBLAS) plus argpartition. Threads are OpenBLAS's, set by OPENBLAS_NUM_THREADS
before numpy loads (tools/bench/scan.sh runs this once per thread count).
Prints one JSON object: {"threads", "scan": [{"dims", "mean_ms", "p50_ms", "p99_ms"}]}.
"""
import argparse, json, os, sys, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--vectors", default="../shared/data/minilm-debian-docs.f16.npy")
ap.add_argument("--queries", default="../shared/data/minilm-debian-titles.f16.npy")
ap.add_argument("--query-count", type=int, default=1000)
ap.add_argument("--dims", default="32,64,128,256,384")
ap.add_argument("-k", type=int, default=10)
args = ap.parse_args()

docs = np.load(args.vectors).astype(np.float32)
queries = np.load(args.queries).astype(np.float32)[: args.query_count]
rows = []
for d in [int(x) for x in args.dims.split(",")]:
    x = np.ascontiguousarray(docs[:, :d])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = queries[:, :d] / np.linalg.norm(queries[:, :d], axis=1, keepdims=True)
    def search(v):
        s = x @ v
        top = np.argpartition(-s, args.k)[: args.k]
        return top[np.argsort(-s[top])]
    for v in q[:50]:
        search(v)
    times = []
    for v in q:
        t = time.perf_counter()
        search(v)
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    rows.append({"dims": d, "mean_ms": sum(times) / len(times), "p50_ms": times[len(times) // 2],
                 "p99_ms": times[len(times) * 99 // 100]})
print(json.dumps({"threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")), "numpy": np.__version__, "scan": rows}))
