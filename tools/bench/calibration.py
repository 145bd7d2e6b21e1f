#!/usr/bin/env python3
"""Issue 18: what the presets promise against what they deliver on real queries, with the
plans calibrated on the index's own documents (before) and on logged user queries (after).

  python3 tools/bench/known_item.py                       # once: tools/bench/out/debian-*.jsonl
  python3 tools/bench/calibration.py --index-from DATA/debian [--log 2000] [--ann 0.2,0.5,1,2,5]

  python3 tools/bench/pypi_known_item.py sample --out tools/bench/out
  mrl index --data DATA --index pypi tools/bench/out/pypi-sample-docs.jsonl
  python3 tools/bench/calibration.py --index-from DATA/pypi --log-queries tools/bench/out/pypi-sample-log.jsonl \
      --eval-queries tools/bench/out/pypi-sample-eval.jsonl

The three query sets never overlap: the log is titles of packages outside the evaluation set
(tools/bench/out/debian-train-pairs.jsonl, sent as text searches through the daemon, so the
daemon's own logging is what records them); tuning takes its queries from the log (or from
documents, before); the evaluation is the 10,000 reference titles (debian-titles.jsonl, with
their reference vectors), which are never logged, tuned on or looked at while choosing.
Realized recall is recall@10 against exact 384-d search (`mrl eval`'s recall_vs_exact).
The index is copied from --index-from (an index of debian-docs.jsonl made by `mrl index`),
so the one given is not changed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from daemon_client import UnixConnection, call, serve

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tools", "bench", "out")


def mrl(binary, *args):
    run = subprocess.run([binary, *args], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"mrl {' '.join(args)} failed: {run.stderr.strip()}")
    return run.stdout


def tune_and_evaluate(binary, data, index, sample, eval_queries):
    """Tunes (the tune's own output says on which queries), then evaluates the presets."""
    mrl(binary, "tune", "--data", data, "--index", index, "--sample", str(sample))
    info = json.loads(mrl(binary, "info", "--data", data, "--index", index, "--json"))
    evaluation = json.loads(mrl(binary, "eval", "--data", data, "--index", index, "--queries", eval_queries,
                                "--dims", "384", "--json"))
    promised = {p["name"]: p["recall"] for p in info["presets"]}
    rows = {}
    for row in evaluation["by_preset"]:
        rows[row["label"]] = {"promised": promised.get(row["label"]), "realized": row["recall_vs_exact"],
                              "mean_ms": row["mean_ms"], "p99_ms": row["p99_ms"]}
    return info["calibration"], rows


def log_queries(binary, data, index, count, log_queries_file):
    """Sends `count` titles of the log split as text searches through a daemon."""
    socket = os.path.join(data, "calibration.sock")
    daemon = serve(binary, data, socket)
    try:
        conn = UnixConnection(socket)
        with open(log_queries_file) as f:
            titles = [json.loads(line)["query"] for line, _ in zip(f, range(count))]
        for title in titles:
            status, _ = call(conn, "POST", f"/indexes/{index}/search", {"query": title, "k": 10})
            if status != 200:
                sys.exit(f"a logged search failed with {status}")
        time.sleep(3)  # past the daemon's 2 s interval: the log is written
    finally:
        daemon.terminate()
        daemon.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-from", required=True, help="folder of a Debian index made by mrl index")
    parser.add_argument("--log", type=int, default=2000, help="titles sent (and logged) between the two tunes")
    parser.add_argument("--sample", type=int, default=1000, help="queries each tune takes (half held out)")
    parser.add_argument("--mrl", default=os.path.join(ROOT, ".build", "release", "mrl"))
    parser.add_argument("--log-queries", default=os.path.join(OUT, "debian-train-pairs.jsonl"), help="JSONL whose \"query\" texts are logged")
    parser.add_argument("--eval-queries", default=os.path.join(OUT, "debian-titles.jsonl"), help="JSONL --queries for mrl eval, never logged")
    parser.add_argument("--ann", metavar="BUDGETS", help="after the second tune, run mrl-bench ann with these budgets (ms, comma-separated)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="mrl-calibration-")
    index = os.path.basename(os.path.normpath(args.index_from))
    try:
        shutil.copytree(args.index_from, os.path.join(data, index))
        for stale in ("writer.lock", "lock.mdb"):
            path = os.path.join(data, index, stale)
            if os.path.exists(path):
                os.remove(path)
        mrl(args.mrl, "queries", "--data", data, "--index", index, "--clear")
        before = tune_and_evaluate(args.mrl, data, index, args.sample, args.eval_queries)
        log_queries(args.mrl, data, index, args.log, args.log_queries)
        logged = json.loads(mrl(args.mrl, "queries", "--data", data, "--index", index, "--json"))
        after = tune_and_evaluate(args.mrl, data, index, args.sample, args.eval_queries)
        if args.ann:
            # Budgets and presets after, one query at a time in process: p99 against each budget,
            # and each plan's predicted recall against what it realized on the evaluation queries.
            bench = os.path.join(os.path.dirname(args.mrl), "mrl-bench")
            print(mrl(bench, "ann", "--data", data, "--index", index, "--queries", args.eval_queries,
                      "--budgets", args.ann, "--limit", "10000"), flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)

    result = {"log_sent": args.log, "logged": logged["count"], "before": {"calibration": before[0], "presets": before[1]},
              "after": {"calibration": after[0], "presets": after[1]}}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{logged['count']} of {args.log} queries logged; evaluated on {os.path.basename(args.eval_queries)} (recall@10 vs exact)")
    for name, (calibration, rows) in (("before", before), ("after", after)):
        print(f"\n{name}: calibrated on {calibration['queries']} {calibration['queries_from']} ({calibration['held_out']} held out)")
        print(f"{'preset':10} {'promised':>9} {'realized':>9} {'mean ms':>8} {'p99 ms':>8}")
        for label, row in rows.items():
            promised = f"{row['promised']:.3f}" if row["promised"] is not None else "-"
            print(f"{label:10} {promised:>9} {row['realized']:9.3f} {row['mean_ms']:8.3f} {row['p99_ms']:8.3f}")


if __name__ == "__main__":
    main()
