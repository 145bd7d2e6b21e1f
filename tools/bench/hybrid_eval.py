#!/usr/bin/env python3
"""Hybrid (lexical + semantic) retrieval by mode: MRR@10, recall@10 and QPS of mrl's `semantic`,
`lexical` and `hybrid` modes (through the Python client, against a daemon) beside two peers given
the same documents and the same vectors, so that only the lexical side and the fusion differ:

  mrl       the plan the index chose (a graph walk over the PCA head from 5,000 documents on);
            hybrid fuses semantic and BM25 rankings at least 50 deep, as `mrl tune` fitted it
  mrl-exact the same with "dims": 384, an exact scan: its semantic ranking is the peers'

mrl is measured on queries it was not tuned on, by two-fold cross-fitting: the queries are split
in two halves (seeded); `mrl tune --queries` on half A (their texts, vectors and relevant ids)
fits the hybrid fusion (method and weight) and, where the index has a graph, re-measures its plans
on A's query vectors; then half B is searched. Then the same with the halves swapped. Every
query is thus scored by an index tuned on the other half only, and all of them count. The peers
fit nothing and run once over all queries.
  lancedb   its native full-text index, exact vector search (no ANN index), hybrid = its RRFReranker
  sqlite    Python's sqlite3 FTS5 ranked by bm25(), exact vector search in numpy, hybrid = RRF (k = 60)
            over the top --depth of each ranking (10, as lancedb's hybrid fetches 10 from each for k = 10)

Data sets (subsets, seeded, so that every system embeds and indexes them in minutes):
  debian  query = a package's title, answer = its id; documents = the long descriptions `text`
          (the title cut out where it occurs verbatim, in 4% of them): --docs documents holding
          the --queries answers
  pypi    query = a package's name, answer = its id; documents = the summaries `text` only (the
          task of tools/bench/pypi_known_item.py, on a subset drawn the same way as debian's)
  nio     tools/bench/queries/swift-nio-docs.jsonl over the swift-nio .md files, indexed by
          `mrl index` as a folder (--include '*.md'); a hit counts when its file (the chunk id's
          PATH) is a relevant file. Folder indexing skips hidden folders, so .github/, judged
          relevant for one query, is in no system's documents.

mrl's lexical index reads a document's id and its meta's string values beside its text, so debian
and pypi documents get opaque ids (d0, d1, ...: a name would hand it the answer), and for nio the
peers' full-text index reads each chunk's path (relative to the folder) beside its text.

Vectors are made once by mrl: `mrl embed` for documents and queries of debian and pypi (the
documents are indexed into mrl with their vectors), and for nio the chunk vectors mrl stored while
indexing the folder (read back with include_vectors) and `mrl embed` of the queries. mrl embeds a
text query itself, so its QPS includes query embedding; the peers' do not, nor do the rows
"mrl (query vectors)" and "mrl-exact (query vectors)": semantic search given the peers' vectors.

A mode the daemon does not offer (a build without the `mode` field) is recorded as unsupported with
the daemon's answer. Every step's output is kept in --out and reused by the next run (delete a file
to redo it; --fresh-mrl rebuilds mrl's indexes, for a new build).

  tools/bench/hybrid_venv.sh
  tools/.venv/bin/python tools/bench/hybrid_eval.py --mrl .build/release/mrl
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

# One query at a time is a matrix-vector product: BLAS threads only contend for the 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402 (after the thread count, which numpy reads on import)

import mrl  # noqa: E402
from daemon_client import serve  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared" / "data"
NIO_QUERIES = ROOT / "tools" / "bench" / "queries" / "swift-nio-docs.jsonl"
NIO_MANIFEST = NIO_QUERIES.with_suffix(".manifest.tsv")
MODES = ("semantic", "lexical", "hybrid")
K = 10
RRF_K = 60


# Data sets: documents {id, text} and queries {id, query, relevant: [document ids or files], kind}

def known_item_sets(corpus, n_docs, n_queries, strip_title):
    with gzip.open(corpus, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    random.seed(0)
    picked = random.sample(range(len(rows)), n_docs)
    asked = sorted(picked[:n_queries])
    # Opaque ids: mrl's lexical index reads ids too, and a package's name would hand it the answer.
    opaque = {i: f"d{n}" for n, i in enumerate(sorted(picked))}
    docs = []
    for i in sorted(picked):
        text = rows[i]["text"]
        if strip_title:
            text = text.replace(rows[i]["title"], " ").strip() or text
        docs.append({"id": opaque[i], "name": rows[i]["id"], "text": text})
    queries = [{"id": rows[i]["id"], "query": rows[i]["title"], "relevant": [opaque[i]], "kind": "known-item"}
               for i in asked]
    return docs, queries


def nio_queries(folder):
    """The swift-nio query set, once the checkout is found to hold the files it was judged on."""
    manifest = {}
    with open(NIO_MANIFEST, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                path, _, digest = line.rstrip("\n").split("\t")
                manifest[path] = digest
    found = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.md")}
    differ = sorted(p for p in manifest.keys() | found.keys() if manifest.get(p) != found.get(p))
    if differ:
        sys.exit(f"{folder} is not the swift-nio the queries were judged on ({NIO_MANIFEST.name}): "
                 f"{len(differ)} .md files differ, e.g. {differ[:3]}")
    with open(NIO_QUERIES, encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    unknown = {p for q in queries for p in q["relevant"]} - manifest.keys()
    if unknown:
        sys.exit(f"{NIO_QUERIES.name}: relevant files not in the manifest: {sorted(unknown)}")
    return queries


# Files in --out

def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def embedded(binary, rows, text_key, npy):
    """The mrl vectors of rows[text_key], made once by `mrl embed` and kept in npy."""
    if not npy.exists():
        source = npy.with_suffix(".in.jsonl")
        write_jsonl(source, ({"id": str(n), "text": row[text_key]} for n, row in enumerate(rows)))
        subprocess.run([binary, "embed", str(source), "-o", str(npy)], check=True)
        source.unlink()
    return np.load(npy).astype(np.float32)


# mrl through the Python client

# "mrl-exact" scans all 384 dimensions: its semantic ranking is the peers' exact one, so that
# only the lexical stage and the fusion differ; "mrl" searches with the plan the index chose.
MRL_PLANS = {"mrl": {}, "mrl-exact": {"dims": 384}}


def mrl_body(system, mode, query):
    body = {"query": query, "k": K, **MRL_PLANS[system]}
    if mode != "semantic":
        body["mode"] = mode
    return body


def mrl_search(client, index, system, mode, query):
    return client.request("POST", f"/indexes/{index}/search", json=mrl_body(system, mode, query))["hits"]


def mrl_unsupported(client, index, system, mode, query):
    """Why the daemon can't run `mode` (its 400, or an answer whose plan does not say the mode), else None."""
    if mode == "semantic":
        return None
    try:
        answer = client.request("POST", f"/indexes/{index}/search", json=mrl_body(system, mode, query))
    except mrl.MrlError as error:
        return str(error)
    said = answer.get("plan", {}).get("mode")
    return None if said == mode else f"the answer's plan says mode {said!r}"


# Peers

def fts_terms(query):
    """The query's words as an FTS5 OR of quoted terms, split as unicode61 splits (letters and digits)."""
    return " OR ".join(f'"{word}"' for word in re.findall(r"[^\W_]+", query))


def rrf(*rankings):
    scores = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking):
            scores[row] = scores.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores, key=scores.get, reverse=True)


class SQLitePeer:
    name = "sqlite-fts5+numpy"

    def __init__(self, docs, vectors, depth):
        self.vectors, self.depth = vectors, depth
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(text)")
        self.db.executemany("INSERT INTO docs(rowid, text) VALUES (?, ?)", ((n, d["text"]) for n, d in enumerate(docs)))

    def lexical(self, query, limit):
        terms = fts_terms(query)
        if not terms:
            return []
        sql = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"
        return [row for (row,) in self.db.execute(sql, (terms, limit))]

    def semantic(self, vector, limit):
        scores = self.vectors @ vector
        top = np.argpartition(-scores, min(limit, len(scores) - 1))[:limit]
        return top[np.argsort(-scores[top])].tolist()

    def search(self, mode, query, vector):
        if mode == "semantic":
            return self.semantic(vector, K)
        if mode == "lexical":
            return self.lexical(query, K)
        return rrf(self.semantic(vector, self.depth), self.lexical(query, self.depth))[:K]


class LanceDBPeer:
    name = "lancedb"

    def __init__(self, docs, vectors, folder):
        import lancedb
        import pyarrow as pa
        from lancedb.rerankers import RRFReranker
        shutil.rmtree(folder, ignore_errors=True)
        vector_type = pa.list_(pa.float32(), vectors.shape[1])
        table = pa.table({"row": pa.array(range(len(docs)), pa.int64()),
                          "text": pa.array([d["text"] for d in docs]),
                          "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), type=vector_type)})
        self.table = lancedb.connect(str(folder)).create_table("docs", table)
        self.table.create_fts_index("text")
        self.reranker = RRFReranker(K=RRF_K)

    def search(self, mode, query, vector):
        if mode == "semantic":
            found = self.table.search(vector)  # L2 on unit vectors: the same order as cosine
        elif mode == "lexical":
            found = self.table.search(query, query_type="fts")
        else:
            found = self.table.search(query_type="hybrid").vector(vector).text(query).rerank(self.reranker)
        return [hit["row"] for hit in found.limit(K).select(["row"]).to_list()]


# Tuning mrl on one half, measuring on the other

def halves(queries):
    """Two halves of the query positions, drawn with a fixed seed."""
    order = list(range(len(queries)))
    random.Random(20).shuffle(order)
    return sorted(order[: len(order) // 2]), sorted(order[len(order) // 2:])


def tune_file(path, queries, query_vectors, folder):
    """mrl tune's labelled queries: text, vector and relevant ids (a folder's files by their full path, as chunks' meta holds it)."""
    def relevant(q):
        return [str(folder / p) for p in q["relevant"]] if folder is not None else q["relevant"]
    write_jsonl(path, ({"query": q["query"], "relevant_ids": relevant(q), "vector": [float(x) for x in query_vectors[q["n"]]]}
                       for q in queries))


def mrl_tune(binary, data, name, path, report):
    """Runs `mrl tune --json` on the labelled queries at path (no daemon holds the index then), keeping its answer in report."""
    done = subprocess.run([binary, "tune", "--data", str(data), "--index", name, "--queries", str(path), "--json"],
                          check=True, capture_output=True, text=True)
    report.write_text(done.stdout)
    answer = json.loads(done.stdout)
    return {"fusion": answer.get("fusion") and answer["fusion"]["fusion"],
            "held_out_in_tune": answer.get("fusion") and answer["fusion"]["held_out_mrr_at_10"],
            "default_plan_recall": next((p["recall"] for p in answer.get("presets", []) if p["name"] == "balanced"), None)}


def combine(parts):
    """One row from evaluate's rows of disjoint query sets: means weighted by their queries."""
    n = sum(p["queries"] for p in parts)
    row = {"queries": n, "errors": sum(p["errors"] for p in parts)}
    for key in ("mrr@10", "recall@10"):
        row[key] = round(sum(p[key] * p["queries"] for p in parts) / n, 4)
    row["qps"] = round(n / sum(p["queries"] / p["qps"] for p in parts), 1)
    kinds = {}
    for p in parts:
        for kind, (total, count) in p["_kinds"].items():
            t, c = kinds.get(kind, (0.0, 0))
            kinds[kind] = (t + total, c + count)
    if len(kinds) > 1:
        row["mrr@10_by_kind"] = {kind: round(t / c, 4) for kind, (t, c) in sorted(kinds.items())}
    return row


# Scoring

def scores(ranked_keys, relevant):
    """(reciprocal rank of the first relevant key in the top K, share of the relevant keys found there)."""
    top = ranked_keys[:K]
    first = next((rank for rank, key in enumerate(top, 1) if key in relevant), None)
    return (1.0 / first if first else 0.0), len(relevant & set(top)) / len(relevant)


def evaluate(search, queries, keys_of):
    """Runs every query through search(query) (in order, one at a time), timing the whole loop."""
    rr, recall, errors, by_kind = [], [], 0, {}
    started = time.perf_counter()
    answers = []
    for q in queries:
        try:
            answers.append(search(q))
        except Exception as error:  # a peer's query parser refusing a query counts as a miss, and is reported
            errors += 1
            answers.append(error)
    seconds = time.perf_counter() - started
    for q, answer in zip(queries, answers):
        r, c = (0.0, 0.0) if isinstance(answer, Exception) else scores(keys_of(answer), set(q["relevant"]))
        rr.append(r)
        recall.append(c)
        by_kind.setdefault(q["kind"], []).append(r)
    row = {"queries": len(queries), "mrr@10": round(float(np.mean(rr)), 4), "recall@10": round(float(np.mean(recall)), 4),
           "qps": round(len(queries) / seconds, 1), "errors": errors}
    if len(by_kind) > 1:
        row["mrr@10_by_kind"] = {kind: round(float(np.mean(v)), 4) for kind, v in sorted(by_kind.items())}
    row["_kinds"] = {kind: (float(np.sum(v)), len(v)) for kind, v in by_kind.items()}  # for combine; not written
    return row


# The run

def prepare(args, out, binary):
    """{name: (docs, queries, doc vectors, query vectors, folder or None)}, and mrl's data folder filled."""
    data = out / "mrl-data"
    if args.fresh_mrl:
        shutil.rmtree(data, ignore_errors=True)
    sets = {}
    for name, corpus, strip in (("debian", SHARED / "debian-packages.jsonl.gz", True),
                                ("pypi", SHARED / "pypi-summaries.jsonl.gz", False)):
        if name not in args.sets:
            continue
        docs_path, queries_path = out / f"{name}-docs.jsonl", out / f"{name}-queries.jsonl"
        if not docs_path.exists():
            docs, queries = known_item_sets(corpus, args.docs, args.queries, strip)
            write_jsonl(docs_path, docs)
            write_jsonl(queries_path, queries)
        docs, queries = read_jsonl(docs_path), read_jsonl(queries_path)
        vectors = embedded(binary, docs, "text", out / f"{name}-docs.npy")
        if not (data / name).exists():
            with_vectors = out / f"{name}-index.jsonl"
            write_jsonl(with_vectors, ({"id": d["id"], "text": d["text"], "vector": [float(x) for x in v]}
                                       for d, v in zip(docs, vectors)))
            subprocess.run([binary, "index", "--data", str(data), "--index", name, str(with_vectors)], check=True)
            with_vectors.unlink()
        sets[name] = (docs, queries, vectors, embedded(binary, queries, "query", out / f"{name}-queries.npy"), None)
    if "nio" in args.sets:
        folder = Path(args.nio_folder).resolve()
        queries = nio_queries(folder)
        if not (data / "nio").exists():
            subprocess.run([binary, "index", "--data", str(data), "--index", "nio", "--include", "*.md", str(folder)], check=True)
        sets["nio"] = (None, queries, None, embedded(binary, queries, "query", out / "nio-queries.npy"), folder)
    return data, sets


def nio_chunks(client):
    """Every chunk mrl stored for the folder, with its vector: the peers' documents."""
    docs = []
    for record in client.get_file_records("nio")["files"]:
        ids = [f"{record['path']}#{n}" for n in range(record["chunks"])]
        docs += client.get_documents("nio", ids, include_vectors=True)["documents"]
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mrl", default=str(ROOT / ".build" / "release" / "mrl"), help="the mrl binary")
    ap.add_argument("--out", default=str(ROOT / "tools" / "bench" / "out" / "hybrid"), help="work folder (kept between runs)")
    ap.add_argument("--sets", default="debian,pypi,nio", type=lambda s: s.split(","), help="comma-separated data sets")
    ap.add_argument("--systems", default="mrl,mrl-exact,sqlite,lancedb", type=lambda s: s.split(","), help="comma-separated systems")
    ap.add_argument("--docs", type=int, default=5000, help="debian and pypi: documents in the subset (a new size needs a new --out)")
    ap.add_argument("--queries", type=int, default=1000, help="debian and pypi: queries (their answers are in the subset)")
    ap.add_argument("--depth", type=int, default=K, help="sqlite peer: candidates from each ranking that RRF fuses "
                    "(default %(default)s, as lancedb's hybrid fetches its limit from each)")
    ap.add_argument("--nio-folder", default=str(ROOT / ".build" / "checkouts" / "swift-nio"),
                    help="the swift-nio checkout (its .md files must match the query set's manifest)")
    ap.add_argument("--fresh-mrl", action="store_true", help="rebuild mrl's indexes (e.g. with a new build)")
    ap.add_argument("--results", help="JSONL out (default: OUT/results.jsonl)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    binary = str(Path(args.mrl).resolve())
    data, sets = prepare(args, out, binary)
    socket = str(out / "mrl.sock")
    rows = []
    mrl_systems = [system for system in args.systems if system in MRL_PLANS]
    for name, (docs, queries, vectors, query_vectors, folder) in sets.items():
        tagged = [dict(q, n=n) for n, q in enumerate(queries)]
        # A folder's chunk ids are PATH#N: a hit is judged by its file.
        key = (lambda doc: os.path.relpath(doc["id"].rpartition("#")[0], folder)) if folder is not None else (lambda doc: doc["id"])
        fold_rows = {}  # (system, mode) -> [row of each fold], or the unsupported row
        tunings = []
        for fold, (fit, scored) in enumerate(zip(halves(queries), reversed(halves(queries)))):
            if not mrl_systems:
                break
            fit_path = out / f"{name}-tune-fold{fold}.jsonl"
            tune_file(fit_path, [tagged[i] for i in fit], query_vectors, folder)
            tuning = mrl_tune(binary, data, name, fit_path, out / f"{name}-tune-fold{fold}.json")
            tunings.append(tuning)
            print(json.dumps({"dataset": name, "fold": fold, "tuned_on": len(fit), **tuning}), flush=True)
            daemon = serve(binary, str(data), socket)
            try:
                client = mrl.Client(socket, timeout=120)
                held_out = [tagged[i] for i in scored]
                for system in mrl_systems:
                    for mode in MODES:
                        why = mrl_unsupported(client, name, system, mode, queries[0]["query"])
                        if why:
                            fold_rows[(system, mode)] = {"unsupported": why}
                            continue
                        fold_rows.setdefault((system, mode), []).append(
                            evaluate(lambda q: mrl_search(client, name, system, mode, q["query"]), held_out,
                                     lambda hits: [key(h) for h in hits]))
                    # The peers are handed query vectors: the same search without mrl's query embedding.
                    fold_rows.setdefault((f"{system} (query vectors)", "semantic"), []).append(
                        evaluate(lambda q: client.search(name, vector=query_vectors[q["n"]].tolist(), k=K, **MRL_PLANS[system])["hits"],
                                 held_out, lambda hits: [key(h) for h in hits]))
                if fold == 1 and folder is not None:
                    chunks = nio_chunks(client)
            finally:
                daemon.terminate()
                daemon.wait()
        if folder is not None and not mrl_systems:
            daemon = serve(binary, str(data), socket)
            try:
                chunks = nio_chunks(mrl.Client(socket, timeout=120))
            finally:
                daemon.terminate()
                daemon.wait()
        if folder is not None:
            # mrl's lexical index reads the meta's path beside the text: the peers' full-text search too.
            docs = [{"id": c["id"], "text": f"{os.path.relpath(c['meta']['path'], folder)}\n{c['text']}"} for c in chunks]
            vectors = np.array([c["vector"] for c in chunks], dtype=np.float32)
        base = {"dataset": name, "docs": len(docs)}
        for (system, mode), parts in fold_rows.items():
            extra = {"fusions": [t["fusion"] for t in tunings]} if mode == "hybrid" else {}
            row = {**base, "system": system, "mode": mode, **(parts if isinstance(parts, dict) else combine(parts)), **extra}
            rows.append(row)
            print(json.dumps(row), flush=True)
        for system in args.systems:
            if system in MRL_PLANS:
                continue
            peer = SQLitePeer(docs, vectors, args.depth) if system == "sqlite" else LanceDBPeer(docs, vectors, out / f"lancedb-{name}")
            for mode in MODES:
                result = evaluate(lambda q: peer.search(mode, q["query"], query_vectors[q["n"]]), tagged,
                                  lambda found: [key(docs[row]) for row in found])
                result.pop("_kinds")
                rows.append({**base, "system": peer.name, "mode": mode, **result})
                print(json.dumps(rows[-1]), flush=True)
    write_jsonl(args.results or out / "results.jsonl", rows)
    print_table(rows)


def print_table(rows):
    print("\n| data set | docs | system | mode | MRR@10 | recall@10 | QPS | note |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "unsupported" in r:
            print(f"| {r['dataset']} | {r['docs']} | {r['system']} | {r['mode']} | - | - | - | unsupported: {r['unsupported'][:80]} |")
            continue
        kinds = ", ".join(f"{k} {v:.3f}" for k, v in r.get("mrr@10_by_kind", {}).items())
        note = "; ".join(filter(None, [kinds and f"MRR by kind: {kinds}", r["errors"] and f"{r['errors']} queries failed"]))
        print(f"| {r['dataset']} | {r['docs']} | {r['system']} | {r['mode']} | {r['mrr@10']:.3f} | {r['recall@10']:.3f} | {r['qps']:,.0f} | {note} |")


if __name__ == "__main__":
    sys.exit(main())
