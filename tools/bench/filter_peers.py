#!/usr/bin/env python3
"""Filtered vector search peers on tools/bench/filter_data.py's files: LanceDB and chromadb.

Both load filter-NAME-docs.jsonl (vectors, bucket, cluster), take each query's filter (mrl's
filter language, translated to the peer's own) as a prefilter, and answer k = 10 by cosine.
  lancedb   embedded; IVF_PQ vector index (256 partitions, 48 sub-vectors, cosine), a BTREE
            scalar index on bucket and a BITMAP one on cluster; `where(..., prefilter=True)`.
            Swept: nprobes=N (N partitions), nprobes>=N (N at least, then more while the prefilter
            leaves fewer than k rows: maximum_nprobes 0), each x refine_factor, and `flat`
            (bypass_vector_index: an exact scan of the matching rows).
  chromadb  embedded (PersistentClient in a temporary folder); HNSW (cosine, max_neighbors 16, ef_construction 100);
            `where`. Swept: ef_search.
Each (system, kind) is swept on the tuning half; the fastest point reaching recall@10 >= 0.95 (or
the best recall when none does) is then run on the evaluation half, whose row is the reported one.
Queries are single: one call per query from a Python loop, after a warm-up. Lance runs its CPU pool
on --threads threads (LANCE_CPU_THREADS, for the build as well); its I/O pool (reads of the table
and index files, all in the page cache here) keeps its default size, as LANCE_IO_THREADS=1 hangs.
Chroma searches one query on one thread (hnswlib parallelises across the queries of one call
only); its build runs on --threads.
recall@10 = |found ∩ truth| / |truth| (truth has fewer than 10 ids when fewer rows match).

Writes JSONL, one row per (split, system, kind, params): qps, p50_ms, p99_ms, recall_at_10; prints
the evaluation table in Markdown.
    tools/bench/filter_venv.sh && python3 tools/bench/filter_data.py
    tools/.venv/bin/python tools/bench/filter_peers.py        # --tune-queries/--eval-queries N, --systems
"""
import argparse
import json
import os
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

OUT = Path(__file__).resolve().parents[2] / "tools/bench/out"
K = 10
WARMUP = 20
TARGET = 0.95


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", default="debian", help="reads filter-NAME-{docs,tune,eval}.jsonl from tools/bench/out")
    ap.add_argument("--systems", default="lancedb,chromadb", help="comma-separated")
    ap.add_argument("--kinds", default="", help="only these query kinds, comma-separated (default: all)")
    ap.add_argument("--tune-queries", type=int, default=100, help="tuning-half queries per kind and sweep point")
    ap.add_argument("--eval-queries", type=int, default=1000, help="evaluation-half queries per kind")
    ap.add_argument("--threads", type=int, default=1, help="threads for Lance's CPU pool (build and searches) and chroma's build")
    ap.add_argument("--out", default=str(OUT / "filter_peers.jsonl"))
    return ap.parse_args()


def read_jsonl(path):
    with open(path, "rb") as lines:
        return [orjson.loads(line) for line in lines]


def queries_by_kind(name, split, kinds):
    """{kind: [query, ...]} of filter-NAME-SPLIT.jsonl, in file order; only `kinds` (comma-separated) when given."""
    wanted = set(filter(None, kinds.split(",")))
    out = {}
    for query in read_jsonl(OUT / f"filter-{name}-{split}.jsonl"):
        if not wanted or query["kind"] in wanted:
            out.setdefault(query["kind"], []).append(query)
    return out


def sql_literal(value):
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(value)


SQL_RANGE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def to_sql(flt):
    """mrl's filter language (the parts the query sets use) as a Lance SQL predicate."""
    if "and" in flt or "or" in flt:
        op = "and" if "and" in flt else "or"
        return "(" + f" {op.upper()} ".join(to_sql(f) for f in flt[op]) + ")"
    field = flt["field"]
    if "eq" in flt:
        return f"{field} = {sql_literal(flt['eq'])}"
    if "in" in flt:
        return f"{field} IN ({', '.join(sql_literal(v) for v in flt['in'])})"
    if "range" in flt:
        return " AND ".join(f"{field} {SQL_RANGE[op]} {sql_literal(v)}" for op, v in flt["range"].items())
    raise ValueError(f"filter not translated for the peers: {flt}")


def to_chroma(flt):
    """mrl's filter language (the parts the query sets use) as a chroma `where`."""
    if "and" in flt or "or" in flt:
        op = "and" if "and" in flt else "or"
        return {f"${op}": [to_chroma(f) for f in flt[op]]}
    field = flt["field"]
    if "eq" in flt:
        return {field: {"$eq": flt["eq"]}}
    if "in" in flt:
        return {field: {"$in": flt["in"]}}
    if "range" in flt:
        parts = [{field: {f"${op}": v}} for op, v in flt["range"].items()]
        return parts[0] if len(parts) == 1 else {"$and": parts}
    raise ValueError(f"filter not translated for the peers: {flt}")


class Lance:
    system = "lancedb"

    def build(self, docs, folder):
        import lancedb
        from lancedb.index import IvfPq, BTree, Bitmap
        self.version = version("lancedb")
        vectors = np.array([d["vector"] for d in docs], dtype=np.float32)
        table = pa.table({
            "id": pa.array([d["id"] for d in docs]),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1]),
            "bucket": pa.array([d["meta"]["bucket"] for d in docs], type=pa.int32()),
            "cluster": pa.array([d["meta"]["cluster"] for d in docs], type=pa.int32()),
        })
        self.table = lancedb.connect(folder).create_table("docs", data=table)
        self.table.create_index("vector", config=IvfPq(distance_type="cosine", num_partitions=256, num_sub_vectors=48))
        self.table.create_index("bucket", config=BTree())
        self.table.create_index("cluster", config=Bitmap())

    def sweep(self):
        yield "flat", ("flat", None, None)
        for refine in (5, 20):      # without refining, PQ codes alone stay near 0.65 recall@10
            for nprobes in (10, 20, 40, 80):
                yield f"nprobes={nprobes} refine={refine}", (nprobes, nprobes, refine)
            for nprobes in (10, 40):
                yield f"nprobes>={nprobes} refine={refine}", (nprobes, 0, refine)

    def prepare(self, flt):
        return to_sql(flt)

    def search(self, vector, where, params):
        query = self.table.search(vector).distance_type("cosine").where(where, prefilter=True)
        nprobes, most, refine = params
        if nprobes == "flat":
            query = query.bypass_vector_index()
        else:
            query = query.minimum_nprobes(nprobes).maximum_nprobes(most).refine_factor(refine)
        # _distance is selected, though unused: without it Lance logs a warning on every query.
        return query.select(["id", "_distance"]).limit(K).to_arrow().column("id").to_pylist()


class Chroma:
    system = "chromadb"

    def __init__(self, threads):
        self.threads = threads

    def build(self, docs, folder):
        import chromadb
        self.version, self.folder = chromadb.__version__, folder
        client = chromadb.PersistentClient(folder)
        config = {"hnsw": {"space": "cosine", "max_neighbors": 16, "ef_construction": 100, "num_threads": self.threads}}
        self.collection = client.create_collection("docs", configuration=config)
        step = client.get_max_batch_size()
        for start in range(0, len(docs), step):
            batch = docs[start:start + step]
            self.collection.add(ids=[d["id"] for d in batch], embeddings=[d["vector"] for d in batch],
                                metadatas=[d["meta"] for d in batch])
        self.ef = None

    def sweep(self):
        for ef in (10, 20, 40, 80, 160):
            yield f"ef_search={ef}", ef

    def prepare(self, flt):
        return to_chroma(flt)

    def use_ef(self, ef):
        """A loaded collection keeps the ef_search it was opened with (chromadb 1.5.9), so the
        changed configuration is read back by a new client."""
        import chromadb
        from chromadb.api.shared_system_client import SharedSystemClient
        self.collection.modify(configuration={"hnsw": {"ef_search": ef}})
        SharedSystemClient.clear_system_cache()
        self.collection = chromadb.PersistentClient(self.folder).get_collection("docs")
        self.ef = ef

    def search(self, vector, where, ef):
        if ef != self.ef:
            self.use_ef(ef)
        return self.collection.query(query_embeddings=[vector], n_results=K, where=where, include=[])["ids"][0]


def measure(peer, queries, params):
    """Single queries in a loop after a warm-up: (qps, p50 ms, p99 ms, recall@10)."""
    prepared = [(np.asarray(q["vector"], dtype=np.float32), peer.prepare(q["filter"]), q["truth"]) for q in queries]
    for vector, where, _ in prepared[:WARMUP]:
        peer.search(vector, where, params)
    latencies, recalls = [], []
    started = time.perf_counter()
    for vector, where, truth in prepared:
        before = time.perf_counter()
        found = peer.search(vector, where, params)
        latencies.append(time.perf_counter() - before)
        recalls.append(len(set(found) & set(truth)) / len(truth))
    seconds = time.perf_counter() - started
    ms = np.array(latencies) * 1e3
    return {"qps": round(len(prepared) / seconds, 1), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3), "recall_at_10": round(float(np.mean(recalls)), 4)}


def chosen(rows):
    """The fastest sweep point reaching the target recall, or the one of best recall."""
    reached = [r for r in rows if r["recall_at_10"] >= TARGET]
    return max(reached, key=lambda r: r["qps"]) if reached else max(rows, key=lambda r: (r["recall_at_10"], r["qps"]))


def run(peer, docs, tune, evaluate, args, out):
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        peer.build(docs, folder)
        build_s = time.perf_counter() - started
        print(f"{peer.system} {peer.version}: built in {build_s:.1f} s", file=sys.stderr, flush=True)
        results = []
        for kind, queries in tune.items():
            sweep = []
            for label, params in peer.sweep():
                row = {"split": "tune", "system": peer.system, "kind": kind, "params": label,
                       **measure(peer, queries[:args.tune_queries], params)}
                out.write(json.dumps(row) + "\n")
                sweep.append((row, params))
                print(f"  tune {kind} {label}: {row['recall_at_10']:.3f} at {row['qps']:,.0f} QPS", file=sys.stderr, flush=True)
            best = chosen([row for row, _ in sweep])
            params = next(p for row, p in sweep if row is best)
            row = {"split": "eval", "system": peer.system, "kind": kind, "params": best["params"],
                   "build_s": round(build_s, 1), **measure(peer, evaluate[kind][:args.eval_queries], params)}
            out.write(json.dumps(row) + "\n")
            out.flush()
            results.append(row)
        return results


def main(args):
    # Lance reads its pool size when it loads (in build), so it is set first. Its I/O pool keeps
    # its default size: with LANCE_IO_THREADS=1, lancedb 0.40 hangs building the IVF_PQ index.
    os.environ["LANCE_CPU_THREADS"] = str(args.threads)
    docs = read_jsonl(OUT / f"filter-{args.name}-docs.jsonl")
    tune = queries_by_kind(args.name, "tune", args.kinds)
    evaluate = queries_by_kind(args.name, "eval", args.kinds)
    known = {"lancedb": Lance, "chromadb": lambda: Chroma(args.threads)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows, versions = [], []
    with open(args.out, "w") as out:
        for name in args.systems.split(","):
            peer = known[name]()
            rows += run(peer, docs, tune, evaluate, args, out)
            versions.append(f"{peer.system} {peer.version}")
    print(f"{', '.join(versions)}, numpy {np.__version__}; Python {sys.version.split()[0]}; "
          f"{len(docs):,} docs, k={K}, threads={args.threads}; tuned on {args.tune_queries} queries per kind, "
          f"evaluated on {args.eval_queries}\n")
    print("| system | kind | params (tuned) | recall@10 | QPS | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['kind']} | {r['params']} | {r['recall_at_10']:.3f} | {r['qps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main(parse_args())
