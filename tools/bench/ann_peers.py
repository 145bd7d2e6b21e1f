#!/usr/bin/env python3
"""ANN peers on the Debian reference embeddings: recall@10 against QPS, build time, bytes per vector.

Systems: hnswlib (M=16, ef_construction=200), faiss IndexHNSWFlat with inner product
(M=32 and M=16, efConstruction=40), usearch (connectivity=16, expansion_add=128; f32 and i8),
exact flat search in numpy, and a numpy funnel (renormalised 128-d prefix scan, shortlist 30,
rescored at 384-d). Ground truth is the exact top-10 by inner product at 384-d.
Each graph index is swept over ef (the search beam); QPS is single-query (one search call per
query in a Python loop, k=10) after a warm-up, with the batched QPS beside it.
Prints versions, a Markdown summary (QPS at recall@10 = 0.90/0.95/0.99: the fastest sweep point
reaching it) and the full sweep; writes a JSON list with one
{system, params, recall_at_10, qps, build_s, bytes_per_vector} per sweep point.

Run from anywhere (paths are relative to the repo root):
    tools/bench/ann_venv.sh && tools/.venv/bin/python tools/bench/ann_peers.py
    tools/.venv/bin/python tools/bench/ann_peers.py --limit 10000 --queries 200   # quick
    tools/bench/scale.sh     # the 601,620 PyPI summaries: --docs/--titles/--systems
"""
import argparse, json, os, sys, time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "../shared/data/minilm-debian-docs.f16.npy"
TITLES = ROOT / "../shared/data/minilm-debian-titles.f16.npy"
K = 10
WARMUP = 20
TARGETS = (0.90, 0.95, 0.99)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=1000, help="number of title queries")
    ap.add_argument("--limit", type=int, help="use only the first N documents")
    ap.add_argument("--threads", type=int, default=1, help="threads for building and searching")
    ap.add_argument("--build-threads", default="", help="hnswlib build times also at these counts, e.g. 1,2")
    ap.add_argument("--ef", default="10,16,24,32,40,48,64,96,128,192,256", help="ef sweep")
    ap.add_argument("--out", default="tools/bench/out/ann_peers.json", help="JSON output (relative to the repo root)")
    ap.add_argument("--docs", default=str(DOCS), help="document vectors (.npy, float16 or float32, unit length)")
    ap.add_argument("--titles", default=str(TITLES), help="query vectors (.npy)")
    ap.add_argument("--systems", default="numpy-flat,numpy-funnel,hnswlib,faiss-hnsw32,faiss-hnsw16,usearch-f32,usearch-i8",
                    help="which systems to run, comma-separated")
    return ap.parse_args()


# Thread counts are read when the libraries load, so they are set before the imports.
ARGS = parse_args()
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
import numpy as np  # noqa: E402
import faiss  # noqa: E402
import hnswlib  # noqa: E402
from usearch.index import Index as UsearchIndex  # noqa: E402


def top_k(scores, k):
    """Indices of the k largest scores in each row, best first."""
    part = np.argpartition(-scores, k, axis=-1)[..., :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=-1), axis=-1)
    return np.take_along_axis(part, order, axis=-1)


class Flat:
    """Exact inner-product search over the float32 matrix (also the ground truth)."""
    system, params, tunable = "numpy-flat", "exact f32", False

    def build(self, docs, threads):
        self.docs = docs

    def size_bytes(self):
        return self.docs.nbytes

    def set_ef(self, ef):
        pass

    def one(self, q):
        return top_k(self.docs @ q, K)

    def batch(self, queries, chunk=256):
        return np.concatenate([self._batch(queries[i:i + chunk]) for i in range(0, len(queries), chunk)])

    def _batch(self, queries):
        return top_k(queries @ self.docs.T, K)


class Funnel(Flat):
    """Scan a renormalised 128-d prefix copy, keep the best 30, rescore those at 384-d."""
    system, params = "numpy-funnel", "prefix=128 shortlist=30"
    PREFIX, SHORTLIST = 128, 30

    def build(self, docs, threads):
        self.docs = docs
        self.prefix = unit(docs[:, :self.PREFIX])

    def size_bytes(self):
        return self.docs.nbytes + self.prefix.nbytes

    def one(self, q):
        short = top_k(self.prefix @ unit(q[:self.PREFIX]), self.SHORTLIST)
        return short[top_k(self.docs[short] @ q, K)]

    def _batch(self, queries):
        short = top_k(unit(queries[:, :self.PREFIX]) @ self.prefix.T, self.SHORTLIST)
        rescored = np.einsum("qsd,qd->qs", self.docs[short], queries)
        return np.take_along_axis(short, top_k(rescored, K), axis=1)


class Hnswlib:
    system, tunable = "hnswlib", True

    def __init__(self, m=16, ef_construction=200):
        self.m, self.efc = m, ef_construction
        self.params = f"M={m} ef_construction={ef_construction}"

    def build(self, docs, threads):
        self.index = hnswlib.Index(space="ip", dim=docs.shape[1])
        self.index.init_index(max_elements=len(docs), ef_construction=self.efc, M=self.m)
        self.index.set_num_threads(threads)
        self.index.add_items(docs, np.arange(len(docs)), num_threads=threads)

    def size_bytes(self):
        return self.index.index_file_size()

    def set_ef(self, ef):
        self.index.set_ef(ef)

    def one(self, q):
        return self.index.knn_query(q, k=K)[0][0]

    def batch(self, queries):
        return self.index.knn_query(queries, k=K)[0]


class FaissHNSW:
    system, tunable = "faiss-hnsw", True

    def __init__(self, m, ef_construction=40):
        self.m, self.efc = m, ef_construction
        self.params = f"M={m} efConstruction={ef_construction}"

    def build(self, docs, threads):
        faiss.omp_set_num_threads(threads)
        self.index = faiss.IndexHNSWFlat(docs.shape[1], self.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.efc
        self.index.add(docs)

    def size_bytes(self):
        return faiss.serialize_index(self.index).size

    def set_ef(self, ef):
        self.index.hnsw.efSearch = ef

    def one(self, q):
        return self.index.search(q[None], K)[1][0]

    def batch(self, queries):
        return self.index.search(queries, K)[1]


class Usearch:
    system, tunable = "usearch", True

    def __init__(self, dtype, connectivity=16, expansion_add=128):
        self.dtype, self.connectivity, self.expansion_add = dtype, connectivity, expansion_add
        self.params = f"{dtype} connectivity={connectivity} expansion_add={expansion_add}"

    def build(self, docs, threads):
        self.threads = threads
        self.index = UsearchIndex(ndim=docs.shape[1], metric="ip", dtype=self.dtype,
                                  connectivity=self.connectivity, expansion_add=self.expansion_add)
        self.index.add(np.arange(len(docs)), docs, threads=threads)

    def size_bytes(self):
        return self.index.serialized_length

    def set_ef(self, ef):
        self.index.expansion_search = ef

    def one(self, q):
        return self.index.search(q, K, threads=self.threads).keys

    def batch(self, queries):
        return self.index.search(queries, K, threads=self.threads).keys


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def recall(found, truth):
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / K for f, t in zip(found, truth)]))


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def single_qps(peer, queries):
    """One search call per query in a Python loop, after a warm-up."""
    for q in queries[:WARMUP]:
        peer.one(q)
    seconds, found = timed(lambda: [peer.one(q) for q in queries])
    return len(queries) / seconds, found


def batch_qps(peer, queries):
    peer.batch(queries[:WARMUP])
    seconds, _ = timed(peer.batch, queries)
    return len(queries) / seconds


def build(peer, docs, threads, extra_threads):
    """Build at each of extra_threads (build time only), then at threads; returns {threads: seconds}."""
    counts = [t for t in extra_threads if t != threads] + [threads]
    return {t: timed(peer.build, docs, t)[0] for t in counts}


def sweep(peer, docs, queries, truth, threads, efs, extra_threads):
    """Build, then measure every ef; returns (build times by thread count, sweep rows)."""
    builds = build(peer, docs, threads, extra_threads)
    base = {"system": peer.system, "params": peer.params, "build_s": round(builds[threads], 3),
            "bytes_per_vector": round(peer.size_bytes() / len(docs), 1)}
    rows = []
    for ef in (efs if peer.tunable else [None]):
        peer.set_ef(ef)
        qps, found = single_qps(peer, queries)
        rows.append({**base, "recall_at_10": round(recall(found, truth), 4), "qps": round(qps, 1),
                     "ef": ef, "batch_qps": round(batch_qps(peer, queries), 1)})
    return builds, rows


def qps_at(rows, target):
    """The highest single-query QPS among sweep points with recall@10 >= target."""
    reached = [r["qps"] for r in rows if r["recall_at_10"] >= target]
    return f"{max(reached):,.0f}" if reached else "not reached"


def table(header, lines):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in line) + " |" for line in lines])


def report(results, builds, args, n_docs, n_queries):
    print(f"numpy {np.__version__}, hnswlib {version('hnswlib')}, faiss-cpu {faiss.__version__}, "
          f"usearch {version('usearch')}; Python {sys.version.split()[0]}")
    print(f"{n_docs:,} docs x {n_queries:,} queries, 384-d, k={K}, threads={args.threads}\n")
    print(table(["system", "params", "build s", "bytes/vector"] + [f"QPS@{t:.2f}" for t in TARGETS],
                [[rows[0]["system"], rows[0]["params"], rows[0]["build_s"], rows[0]["bytes_per_vector"]]
                 + [qps_at(rows, t) for t in TARGETS] for rows in results]))
    if any(len(b) > 1 for _, b in builds):
        print("\nBuild time by thread count\n")
        print(table(["system", "params", "threads", "build s"],
                    [[name, params, t, f"{b[t]:.2f}"] for (name, params), b in builds if len(b) > 1 for t in sorted(b)]))
    print("\nFull sweep (QPS single-query; batch = one call for all queries)\n")
    print(table(["system", "params", "ef", "recall@10", "QPS", "batch QPS"],
                [[r["system"], r["params"], "-" if r["ef"] is None else r["ef"], f"{r['recall_at_10']:.4f}",
                  f"{r['qps']:,.0f}", f"{r['batch_qps']:,.0f}"] for rows in results for r in rows]))


def main(args):
    docs = np.load(args.docs).astype(np.float32)[: args.limit]
    queries = np.load(args.titles).astype(np.float32)[: args.queries]
    exact = Flat()
    exact.build(docs, args.threads)
    truth = exact.batch(queries)
    efs = [int(e) for e in args.ef.split(",")]
    extra = [int(t) for t in args.build_threads.split(",") if t]
    known = {"numpy-flat": Flat, "numpy-funnel": Funnel, "hnswlib": Hnswlib, "faiss-hnsw32": lambda: FaissHNSW(32),
             "faiss-hnsw16": lambda: FaissHNSW(16), "usearch-f32": lambda: Usearch("f32"), "usearch-i8": lambda: Usearch("i8")}
    peers = [known[name]() for name in args.systems.split(",")]
    results, builds = [], []
    for peer in peers:
        b, rows = sweep(peer, docs, queries, truth, args.threads, efs, extra if isinstance(peer, Hnswlib) else [])
        results.append(rows)
        builds.append(((peer.system, peer.params), b))
    report(results, builds, args, len(docs), len(queries))
    out = Path(args.out) if Path(args.out).is_absolute() else ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = ("system", "params", "recall_at_10", "qps", "build_s", "bytes_per_vector")
    out.write_text(json.dumps([{k: r[k] for k in keys} for rows in results for r in rows], indent=1) + "\n")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main(ARGS)
