#!/usr/bin/env python3
"""mrl's side of the filtered search benchmark: the evaluation half of filter_data.py's queries
against a running daemon, through the Python client's batch search (clients/python,
`mrl.Client.search_batch`, which amortises the client's cost over --batch queries per request).

Each query sends its vector and filter with k = 10, plus the fields of one --params object (the
planner's own choice when {}). A batch runs its searches one after another on one thread of the
daemon, so the server's time is single-threaded, as the peers' queries are. Reported per (kind,
params): qps (queries over the client's wall time, sending each query's 384 floats as JSON included),
server_qps (queries over the sum of the answers' took_ms), p50/p99 of took_ms, recall@10 against
the ground truth, and how often the planner chose each filter strategy (plan.filter.strategy).
Same JSONL rows as filter_peers.py (system "mrl").

    mrl index --data D --index filter-debian tools/bench/out/filter-debian-docs.jsonl
    mrl serve --data D --socket D/mrl.sock &
    tools/.venv/bin/python tools/bench/filter_mrl.py --socket D/mrl.sock --index filter-debian \\
        --params '{}' --params '{"budget_ms": 1}'
"""
import argparse
import collections
import json
import sys
import time
from pathlib import Path

import numpy as np

from filter_queries import OUT, ROOT, K, queries_by_kind, recall

sys.path.insert(0, str(ROOT / "clients/python/src"))
import mrl  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--socket", required=True, help="the daemon's Unix socket")
    ap.add_argument("--index", default="filter-debian", help="the index holding filter-NAME-docs.jsonl")
    ap.add_argument("--name", default="debian", help="reads filter-NAME-eval.jsonl from tools/bench/out")
    ap.add_argument("--kinds", default="", help="only these query kinds, comma-separated (default: all)")
    ap.add_argument("--eval-queries", type=int, default=1000, help="evaluation-half queries per kind")
    ap.add_argument("--batch", type=int, default=100, help="queries per search_batch request (at most 1,024)")
    ap.add_argument("--params", action="append", type=json.loads,
                    help="extra search fields as a JSON object, e.g. '{\"ef\": 64}'; repeatable (default: {})")
    ap.add_argument("--out", default=str(OUT / "filter_mrl.jsonl"))
    return ap.parse_args()


def measure(client, index, queries, params, batch):
    """(row fields, strategy counts) for `queries` sent `batch` at a time."""
    wall, took, recalls, strategies = 0.0, [], [], collections.Counter()
    for start in range(0, len(queries), batch):
        chunk = queries[start:start + batch]
        requests = [{"vector": q["vector"], "filter": q["filter"], "k": K, **params} for q in chunk]
        before = time.perf_counter()
        results = client.search_batch(index, requests)["results"]
        wall += time.perf_counter() - before
        for query, result in zip(chunk, results):
            recalls.append(recall([hit["id"] for hit in result["hits"]], query["truth"]))
            took.append(result["took_ms"])
            strategies[result["plan"].get("filter", {}).get("strategy", "none")] += 1
    took = np.array(took)
    return {"qps": round(len(queries) / wall, 1), "server_qps": round(len(queries) / (took.sum() / 1e3), 1),
            "p50_ms": round(float(np.percentile(took, 50)), 3), "p99_ms": round(float(np.percentile(took, 99)), 3),
            "recall_at_10": round(float(np.mean(recalls)), 4), "strategies": dict(strategies)}


def main(args):
    evaluate = queries_by_kind(args.name, "eval", args.kinds)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    print("| system | kind | params | recall@10 | QPS (client) | QPS (server) | p50 ms | p99 ms | strategies |\n"
          "|---|---|---|---|---|---|---|---|---|")
    with mrl.Client(args.socket) as client, open(args.out, "w") as out:
        for params in args.params or [{}]:
            label = json.dumps(params) if params else "planner"
            for kind, queries in evaluate.items():
                queries = queries[:args.eval_queries]
                measure(client, args.index, queries[:args.batch], params, args.batch)      # warm-up
                row = {"split": "eval", "system": "mrl", "kind": kind, "params": label,
                       **measure(client, args.index, queries, params, args.batch)}
                out.write(json.dumps(row) + "\n")
                shares = ", ".join(f"{s} {n}" for s, n in sorted(row["strategies"].items()))
                print(f"| mrl | {kind} | {label} | {row['recall_at_10']:.3f} | {row['qps']:,.0f} | {row['server_qps']:,.0f} "
                      f"| {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {shares} |", flush=True)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main(parse_args())
