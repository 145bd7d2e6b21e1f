#!/usr/bin/env python3
"""Text searches during a large text write (issue 16's goal): one closed-loop client sends
package titles as text queries through the daemon while another writes descriptions as text.

  mrl serve --data DATA --socket SOCK &          # DATA holds INDEX, an index that takes text
  python3 tools/bench/write_contention.py --socket SOCK --index debian

Three phases, on the same daemon and cores: text searches alone (their idle p50/p99); the write
alone (10,000 descriptions into a new index, in requests of --batch documents: its idle
throughput); both at once. Goal: p99 of the searches during the write <= 3x idle, and the write's
throughput >= 80% of idle. The written indexes are dropped afterwards.
"""
import argparse
import gzip
import json
import os
import threading
import time

from daemon_client import UnixConnection, call, quantile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "..", "shared", "data", "debian-packages.jsonl.gz")


def search_loop(socket_path, index, titles, stop, latencies):
    conn = UnixConnection(socket_path)
    i = 0
    while not stop():
        start = time.perf_counter()
        status, _ = call(conn, "POST", f"/indexes/{index}/search", {"query": titles[i % len(titles)], "k": 10})
        latencies.append((time.perf_counter() - start) * 1e3)
        assert status == 200, status
        i += 1


def write(socket_path, index, docs, batch):
    conn = UnixConnection(socket_path, timeout=600)
    call(conn, "DELETE", f"/indexes/{index}")
    status, body = call(conn, "PUT", f"/indexes/{index}", {})
    assert status == 201, body
    start = time.perf_counter()
    for b in range(0, len(docs), batch):
        status, body = call(conn, "POST", f"/indexes/{index}/documents", {"documents": docs[b:b + batch]})
        assert status == 200, body
    seconds = time.perf_counter() - start
    call(conn, "DELETE", f"/indexes/{index}")
    return len(docs) / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--index", required=True, help="an index that takes text queries")
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--idle-seconds", type=float, default=20)
    args = parser.parse_args()

    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        packages = [json.loads(line) for line in f]
    titles = [p["title"] for p in packages[-5_000:]]
    docs = [{"id": p["id"], "text": p["text"]} for p in packages[:args.documents]]

    idle = []
    deadline = time.time() + args.idle_seconds
    search_loop(args.socket, args.index, titles, lambda: time.time() > deadline, idle)
    idle_rate = write(args.socket, "contention-idle", docs, args.batch)

    during, done = [], threading.Event()
    searcher = threading.Thread(target=search_loop, args=(args.socket, args.index, titles, done.is_set, during))
    searcher.start()
    busy_rate = write(args.socket, "contention-busy", docs, args.batch)
    done.set()
    searcher.join()

    result = {
        "idle": {"searches": len(idle), "p50_ms": quantile(idle, 0.5), "p99_ms": quantile(idle, 0.99), "write_docs_per_s": idle_rate},
        "during_write": {"searches": len(during), "p50_ms": quantile(during, 0.5), "p99_ms": quantile(during, 0.99), "write_docs_per_s": busy_rate},
    }
    result["p99_ratio"] = result["during_write"]["p99_ms"] / result["idle"]["p99_ms"]
    result["write_share"] = busy_rate / idle_rate
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
