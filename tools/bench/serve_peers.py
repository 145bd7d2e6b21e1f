#!/usr/bin/env python3
"""Daemon-load peers (issue 6): chromadb and milvus-lite under 1, 8 and 64 concurrent clients.

Data: the Debian reference embeddings (../shared/data/minilm-debian-docs.f16.npy, 60,605 x 384,
as float32, ids = row numbers) and the first --queries title embeddings as queries, as in
tools/bench/ann_peers.py (whose helpers are not imported: it parses its arguments and loads faiss
and hnswlib at import). Ground truth: exact top-10 by 384-d cosine over all documents.

- chromadb: PersistentClient in a temp dir, one collection, space=cosine, HNSW defaults (read
  back from the collection and reported), added in batches of client.get_max_batch_size().
- milvus-lite: MilvusClient on a local .db file in a temp dir, HNSW M=16 efConstruction=200,
  COSINE. One figure is taken right after the inserts, before any flush; then flush + load,
  and the smallest search ef whose recall@10 (one batched pass over the queries) is >= 0.95.

Load: for each client count, that many Python threads each issue single-query searches (k=10,
ids and distances only) in a loop, drawing the next query from a shared counter, until
--queries searches are done or --seconds have passed, whichever first; after a short sequential
warm-up. Reports QPS (completed / wall), p50/p99 latency per search, recall@10 of the searches
that point ran, and the process's CPU time over wall time (100% = one core). Both peers run
their database inside this Python process (chromadb's Rust core; milvus-lite 3.x is a gRPC
server on threads in-process), so that figure is client and database together.
machine_cpu_pct is the whole machine's busy time from /proc/stat (200% = both cores here):
anything else running shows up there.

Prints a table; writes a JSON list of {system, params, clients, qps, p50_ms, p99_ms,
recall_at_10, insert_s, build_s, client_cpu_pct, machine_cpu_pct, queries, errors}.
insert_s is the insert calls; build_s what comes after them before searching: for milvus-lite
release + flush + load, which builds the HNSW index (see Milvus.build: without the release the
index is built in the background while searches run by brute force); for chromadb, which indexes
as it adds, one first query.

Run from anywhere (paths are relative to the repo root):
    tools/bench/serve_venv.sh && tools/.venv/bin/python tools/bench/serve_peers.py
    tools/.venv/bin/python tools/bench/serve_peers.py --limit 5000 --queries 100 --seconds 5  # quick
"""
import argparse, itertools, json, os, sys, tempfile, threading, time
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "../shared/data/minilm-debian-docs.f16.npy"
TITLES = ROOT / "../shared/data/minilm-debian-titles.f16.npy"
K = 10
WARMUP = 10
TARGET_RECALL = 0.95
MILVUS_EFS = (16, 24, 32, 48, 64, 96, 128, 192, 256)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=1000, help="title queries (and searches per load point)")
    ap.add_argument("--seconds", type=float, default=20.0, help="time bound per load point")
    ap.add_argument("--clients", default="1,8,64", help="concurrent client threads, comma-separated")
    ap.add_argument("--systems", default="chromadb,milvus", help="chromadb,milvus")
    ap.add_argument("--limit", type=int, help="use only the first N documents (quick runs)")
    ap.add_argument("--out", default="tools/bench/out/serve_peers.json", help="JSON output (relative to the repo root)")
    return ap.parse_args()


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def exact_top_k(docs, queries, chunk=256):
    """Exact top-k by cosine, best first (argpartition then sort, as ann_peers.py's Flat)."""
    docs = unit(docs)
    rows = []
    for i in range(0, len(queries), chunk):
        scores = unit(queries[i:i + chunk]) @ docs.T
        part = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        rows.append(np.take_along_axis(part, order, axis=1))
    return np.concatenate(rows)


def recall(found, truth):
    """found: {query row: ids}; mean share of the true top-10 among them."""
    return float(np.mean([len(set(ids) & set(truth[j].tolist())) / K for j, ids in found.items()])) if found else float("nan")


class Chroma:
    system = "chromadb"

    def __init__(self, tmp):
        import chromadb
        self.client = chromadb.PersistentClient(path=str(tmp / "chroma"))
        self.col = self.client.create_collection("debian", configuration={"hnsw": {"space": "cosine"}})
        hnsw = self.col.configuration["hnsw"]
        self.params = " ".join(f"{k}={hnsw[k]}" for k in ("space", "max_neighbors", "ef_construction", "ef_search"))
        self.batch = self.client.get_max_batch_size()

    def insert(self, docs):
        for i in range(0, len(docs), self.batch):
            chunk = docs[i:i + self.batch]
            self.col.add(ids=[str(j) for j in range(i, i + len(chunk))], embeddings=chunk)

    def build(self):
        self.search(np.zeros(384, np.float32) + 0.05)  # the first query applies any writes not yet indexed

    def search(self, q):
        return [int(i) for i in self.col.query(query_embeddings=[q], n_results=K, include=["distances"])["ids"][0]]


class Milvus:
    system = "milvus-lite"
    BATCH = 5000

    def __init__(self, tmp):
        from pymilvus import DataType, MilvusClient
        self.client = MilvusClient(str(tmp / "milvus.db"))
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=384)
        index = self.client.prepare_index_params()
        index.add_index(field_name="vector", index_type="HNSW", metric_type="COSINE",
                        params={"M": 16, "efConstruction": 200})
        self.client.create_collection("debian", schema=schema, index_params=index)
        self.ef = 64

    @property
    def params(self):
        return f"HNSW M=16 efConstruction=200 ef={self.ef}"

    def insert(self, docs):
        for i in range(0, len(docs), self.BATCH):
            self.client.insert("debian", [{"id": i + j, "vector": v.tolist()} for j, v in enumerate(docs[i:i + self.BATCH])])

    def build(self):
        # A collection created with index_params is loaded at once, and a flush then builds the
        # HNSW index in a background thread, searching by brute force until it is ready (while
        # describe_index already says Finished). Released, the flush builds nothing, and load
        # builds the index before it returns: so build_s is the real index build time.
        self.client.release_collection("debian")
        self.client.flush("debian")
        self.client.load_collection("debian")

    def _search(self, qs):
        # output_fields=["id"]: the default (and []) returns each hit's vector in milvus-lite 3.x.
        res = self.client.search("debian", data=qs, limit=K, output_fields=["id"],
                                 search_params={"metric_type": "COSINE", "params": {"ef": self.ef}})
        return [[h["id"] for h in hits] for hits in res]

    def search(self, q):
        return self._search([q.tolist()])[0]

    def tune(self, queries, truth):
        """Smallest ef reaching TARGET_RECALL in one batched pass per ef; prints the sweep."""
        for ef in MILVUS_EFS:
            self.ef = ef
            found = {}
            for i in range(0, len(queries), 100):
                found.update(enumerate(self._search(queries[i:i + 100].tolist()), start=i))
            r = recall(found, truth)
            print(f"  milvus-lite ef={ef}: recall@10 {r:.4f}", flush=True)
            if r >= TARGET_RECALL:
                return
        print(f"  milvus-lite: recall@10 {TARGET_RECALL} not reached; using ef={self.ef}")


def machine_busy():
    """(busy, total) jiffies from /proc/stat's cpu line."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def load_point(search, queries, clients, count, seconds, warmup=WARMUP):
    """count searches (or until seconds pass) from `clients` threads; returns stats and {row: ids}."""
    for q in queries[:warmup]:
        search(q)
    counter, found, lat, errors = itertools.count(), {}, [[] for _ in range(clients)], []
    start = threading.Barrier(clients + 1)

    def worker(t):
        start.wait()
        while True:
            j = next(counter)
            if j >= count or time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            try:
                ids = search(queries[j % len(queries)])
            except Exception as e:  # counted, reported, never silent
                errors.append(repr(e))
                continue
            lat[t].append(time.perf_counter() - t0)
            found[j % len(queries)] = ids

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(clients)]
    for th in threads:
        th.start()
    busy0, total0 = machine_busy()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deadline = wall0 + seconds
    start.wait()
    for th in threads:
        th.join()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    busy1, total1 = machine_busy()
    ms = np.array([x for per in lat for x in per] or [np.nan]) * 1000
    ncpu = os.cpu_count() or 1
    return {"clients": clients, "qps": round(sum(map(len, lat)) / wall, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "client_cpu_pct": round(100 * cpu / wall, 1),
            "machine_cpu_pct": round(100 * ncpu * (busy1 - busy0) / max(total1 - total0, 1), 1),
            "queries": sum(map(len, lat)), "errors": len(errors)}, found, errors[:3]


def table(header, lines):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in line) + " |" for line in lines])


def main(args):
    t_start = time.perf_counter()
    docs = np.load(DOCS).astype(np.float32)[: args.limit]
    queries = np.load(TITLES).astype(np.float32)[: args.queries]
    truth = exact_top_k(docs, queries)
    clients = [int(c) for c in args.clients.split(",")]
    systems = {"chromadb": Chroma, "milvus": Milvus}
    print(f"numpy {np.__version__}, chromadb {version('chromadb')}, pymilvus {version('pymilvus')}, "
          f"milvus-lite {version('milvus-lite')}; Python {sys.version.split()[0]}; {os.cpu_count()} cores, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"{len(docs):,} docs x {len(queries):,} queries, 384-d cosine, k={K}; each load point: "
          f"{args.queries} searches or {args.seconds:g} s, whichever first\n", flush=True)
    rows = []
    for name in args.systems.split(","):
        with tempfile.TemporaryDirectory(prefix=f"serve_peers_{name}_") as tmp:
            peer = systems[name](Path(tmp))
            t0 = time.perf_counter()
            peer.insert(docs)
            insert_s = round(time.perf_counter() - t0, 2)
            print(f"{peer.system}: inserted {len(docs):,} in {insert_s} s", flush=True)
            base = {"system": peer.system, "insert_s": insert_s}
            if isinstance(peer, Milvus):  # the trap: searching what has not been flushed yet
                stats, found, errs = load_point(peer.search, queries, 1, args.queries, args.seconds, warmup=1)
                rows.append({**base, "params": peer.params + " before flush", "build_s": None, **stats,
                             "recall_at_10": round(recall(found, truth), 4)})
                print(f"  before flush: {stats['qps']} QPS over {stats['queries']} searches", flush=True)
            t0 = time.perf_counter()
            peer.build()
            base["build_s"] = round(time.perf_counter() - t0, 2)
            print(f"  flush/load/build: {base['build_s']} s", flush=True)
            if isinstance(peer, Milvus):
                peer.tune(queries, truth)
            for c in clients:
                stats, found, errs = load_point(peer.search, queries, c, args.queries, args.seconds)
                rows.append({**base, "params": peer.params, **stats, "recall_at_10": round(recall(found, truth), 4)})
                print(f"  {c} clients: {stats['qps']} QPS, p99 {stats['p99_ms']} ms"
                      + (f", {stats['errors']} errors, e.g. {errs}" if errs else ""), flush=True)
    print()
    print(table(["system", "params", "clients", "QPS", "p50 ms", "p99 ms", "recall@10", "insert s", "build s",
                 "process CPU %", "machine CPU %", "searches", "errors"],
                [[r["system"], r["params"], r["clients"], f"{r['qps']:,.1f}", r["p50_ms"], r["p99_ms"],
                  f"{r['recall_at_10']:.4f}", r["insert_s"], "-" if r["build_s"] is None else r["build_s"],
                  r["client_cpu_pct"], r["machine_cpu_pct"], r["queries"], r["errors"]] for r in rows]))
    out = Path(args.out) if Path(args.out).is_absolute() else ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = ("system", "params", "clients", "qps", "p50_ms", "p99_ms", "recall_at_10", "insert_s", "build_s",
            "client_cpu_pct", "machine_cpu_pct", "queries", "errors")
    out.write_text(json.dumps([{k: r[k] for k in keys} for r in rows], indent=1) + "\n")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}; "
          f"total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main(parse_args())
