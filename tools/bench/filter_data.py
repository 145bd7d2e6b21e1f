#!/usr/bin/env python3
"""Filtered search data: documents with synthetic attributes, filtered queries and their ground truth.

Writes into --out (tools/bench/out by default), for --name NAME (debian by default):
  filter-NAME-docs.jsonl    {"id", "vector", "meta": {"bucket", "cluster"}}: what `mrl index` reads.
      bucket: an int uniform in 0..9,999 (seeded), independent of the vector;
      cluster: the document's k-means cluster (100 clusters, spherical k-means, seeded).
  filter-NAME-tune.jsonl    queries from the first half of the query vectors: for tuning only.
  filter-NAME-eval.jsonl    queries from the second half: for the reported figures.
Each query line is {"vector", "filter", "kind", "truth"} with a filter in mrl's filter language:
  random-S%        {"field": "bucket", "range": {"gte": lo, "lt": lo + S% of 10,000}}, lo seeded;
  correlated       {"field": "cluster", "eq": the cluster whose centroid is nearest the query};
  anti-correlated  {"field": "cluster", "eq": the 50th nearest (non-empty) cluster}.
truth: the ids of the exact top 10 by cosine at full dimension over the matching rows (all of
them, best first, when fewer than 10 match). Every kind uses the same query vectors.

Debian (default): the reference embeddings in ../shared/data and the corpus ids.
    python3 tools/bench/filter_data.py
PyPI (../shared has no PyPI vectors: take those `mrl embed` writes, as tools/bench/scale.sh does):
    python3 tools/bench/filter_data.py --name pypi --docs tools/bench/out/scale/pypi-docs.f32.npy \\
        --corpus ../shared/data/pypi-summaries.jsonl.gz --queries tools/bench/out/scale/pypi-names.f32.npy \\
        --selectivities 10,1,0.1,0.01     # 0.01% of 601,620 is about 60 rows
"""
import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "../shared/data"
sys.path.insert(0, str(ROOT / "tools"))
from known_item import rounded  # noqa: E402

K = 10
BUCKETS = 10_000
CLUSTERS = 100
ANTI_RANK = 50          # the anti-correlated query's cluster: its 50th nearest
KMEANS_ITERATIONS = 25


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", default="debian", help="output files are filter-NAME-*.jsonl")
    ap.add_argument("--docs", default=str(DATA / "minilm-debian-docs.f16.npy"), help="document vectors (.npy)")
    ap.add_argument("--corpus", default=str(DATA / "debian-packages.jsonl.gz"),
                    help="JSONL (.gz or plain) whose lines' \"id\" name the document vectors' rows, in order")
    ap.add_argument("--queries", default=str(DATA / "minilm-debian-titles.f16.npy"), help="query vectors (.npy)")
    ap.add_argument("--per-half", type=int, default=1000, help="queries written from each half (tuning, evaluation)")
    ap.add_argument("--selectivities", default="10,1,0.1", help="random bucket ranges, in percent of the rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "tools/bench/out"))
    return ap.parse_args()


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def corpus_ids(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["id"] for line in lines]


def kmeans(vectors, clusters, rng):
    """Spherical k-means (k-means++ seeding, then Lloyd on cosine); returns (centroids, labels)."""
    centroids = [vectors[rng.integers(len(vectors))]]
    closest = vectors @ centroids[0]
    for _ in range(clusters - 1):
        weights = np.maximum(1 - closest, 0) ** 2
        chosen = vectors[rng.choice(len(vectors), p=weights / weights.sum())]
        centroids.append(chosen)
        closest = np.maximum(closest, vectors @ chosen)
    centroids = np.array(centroids)
    labels = None
    for _ in range(KMEANS_ITERATIONS):
        new = np.argmax(vectors @ centroids.T, axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        for c in range(clusters):
            members = vectors[labels == c]
            if len(members):       # an empty cluster keeps its centroid and is never a query's
                centroids[c] = unit(members.sum(axis=0))
    return centroids, labels


def attributes(docs, seed):
    """The documents' synthetic fields, drawn from `seed`: (bucket, centroids, labels)."""
    rng = np.random.default_rng(seed)
    bucket = rng.integers(0, BUCKETS, size=len(docs))
    centroids, labels = kmeans(docs, CLUSTERS, rng)
    return bucket, centroids, labels


def queries_for(kinds, half, bucket, labels, centroids, per_kind_rng):
    """For each kind: (filters, boolean match matrix over the documents) for the query vectors `half`."""
    nonempty = np.flatnonzero(np.bincount(labels, minlength=len(centroids)))
    ranked = nonempty[np.argsort(-(half @ centroids[nonempty].T), axis=1)]
    out = {}
    for kind, width in kinds:
        if width is None:
            cluster = ranked[:, 0 if kind == "correlated" else ANTI_RANK - 1]
            filters = [{"field": "cluster", "eq": int(c)} for c in cluster]
            matches = labels[None, :] == cluster[:, None]
        else:
            lo = per_kind_rng[kind].integers(0, BUCKETS - width + 1, size=len(half))
            filters = [{"field": "bucket", "range": {"gte": int(a), "lt": int(a + width)}} for a in lo]
            matches = (bucket[None, :] >= lo[:, None]) & (bucket[None, :] < lo[:, None] + width)
        out[kind] = (filters, matches)
    return out


def filtered_top(scores, matches):
    """Row ids of the K best matching scores per query, best first (fewer when fewer match)."""
    masked = np.where(matches, scores, -np.inf)
    part = np.argpartition(-masked, K, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(masked, part, axis=1), axis=1)
    best = np.take_along_axis(part, order, axis=1)
    return [[int(r) for r in row if matches[q, r]] for q, row in enumerate(best)]


def write_queries(path, half, kinds, docs, ids, bucket, labels, centroids, rngs):
    chunk = max(1, (1 << 24) // len(docs))   # a score block of ~64 MB
    lines = {kind: [] for kind, _ in kinds}
    counts = {kind: [] for kind, _ in kinds}
    for start in range(0, len(half), chunk):
        block = half[start:start + chunk]
        scores = block @ docs.T
        for kind, (filters, matches) in queries_for(kinds, block, bucket, labels, centroids, rngs).items():
            for vector, flt, top, n in zip(block, filters, filtered_top(scores, matches), matches.sum(axis=1)):
                lines[kind].append({"vector": rounded(vector), "filter": flt, "kind": kind, "truth": [ids[r] for r in top]})
                counts[kind].append(int(n))
    with open(path, "w", encoding="utf-8") as out:
        for kind, _ in kinds:
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines[kind])
    return {kind: (np.median(c), min(c), max(c)) for kind, c in counts.items()}


def main(args):
    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    docs = unit(np.load(args.docs).astype(np.float32))
    ids = corpus_ids(args.corpus)
    if len(ids) != len(docs):
        sys.exit(f"{args.corpus}: {len(ids)} ids for {len(docs)} vectors in {args.docs}; they must be the same rows")
    queries = unit(np.load(args.queries).astype(np.float32))
    bucket, centroids, labels = attributes(docs, args.seed)
    sizes = np.bincount(labels, minlength=CLUSTERS)
    print(f"{len(docs):,} documents; {CLUSTERS} clusters of {sizes.min()}..{sizes.max()} rows (median {int(np.median(sizes))})")
    docs_path = out / f"filter-{args.name}-docs.jsonl"
    with open(docs_path, "w", encoding="utf-8") as f:
        for i, vector in enumerate(docs):
            meta = {"bucket": int(bucket[i]), "cluster": int(labels[i])}
            f.write(json.dumps({"id": ids[i], "vector": rounded(vector), "meta": meta}, ensure_ascii=False) + "\n")
    print(f"wrote {docs_path}")

    widths = [(f"random-{s}%", max(1, round(float(s) * BUCKETS / 100))) for s in args.selectivities.split(",")]
    kinds = widths + [("correlated", None), ("anti-correlated", None)]
    middle = len(queries) // 2
    halves = {"tune": queries[:middle][:args.per_half], "eval": queries[middle:][:args.per_half]}
    for split, half in halves.items():
        rngs = {kind: np.random.default_rng([args.seed, i, split == "eval"]) for i, (kind, _) in enumerate(kinds)}
        path = out / f"filter-{args.name}-{split}.jsonl"
        stats = write_queries(path, half, kinds, docs, ids, bucket, labels, centroids, rngs)
        print(f"wrote {len(half):,} queries per kind to {path}; matching rows (median, min, max):")
        for kind, (median, low, high) in stats.items():
            print(f"  {kind:16} {median:>8,.0f} {low:>8,} {high:>8,}")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(parse_args())
