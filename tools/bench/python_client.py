"""QPS of vector searches through the Python client (clients/python), sync and async, beside
`mrl-bench serve` on the same daemon, index and queries: what the client costs.

  clients/python/venv.sh
  mrl serve --data /tmp/mine --socket /tmp/mine/mrl.sock &
  clients/python/.venv/bin/python tools/bench/python_client.py --socket /tmp/mine/mrl.sock \
      --index debian --queries tools/bench/out/debian-titles.jsonl --clients 1,8

Sync: each client a thread with its own mrl.Client (one keep-alive connection). Async: each
client a task on one event loop, sharing one mrl.AsyncClient. Closed loop, k = 10, for
--seconds per point; latencies are end to end, as the client's caller sees them.
"""
import argparse
import asyncio
import json
import threading
import time

import mrl
from daemon_client import quantile


def load_vectors(path, limit):
    with open(path) as lines:
        return [json.loads(line)["vector"] for _, line in zip(range(limit), lines)]


def row(mode, clients, latencies, seconds):
    print(f"| {mode} | {clients} | {len(latencies) / seconds:,.0f} | {quantile(latencies, 0.5) * 1e3:.2f} ms | {quantile(latencies, 0.99) * 1e3:.2f} ms |", flush=True)


def run_sync(socket, index, vectors, clients, seconds):
    latencies, stop = [], time.monotonic() + seconds

    def loop(offset):
        with mrl.Client(socket) as client:
            n = offset
            while time.monotonic() < stop:
                started = time.perf_counter()
                client.search(index, vector=vectors[n % len(vectors)], k=10)
                latencies.append(time.perf_counter() - started)
                n += clients

    threads = [threading.Thread(target=loop, args=(offset,)) for offset in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


async def run_async(socket, index, vectors, clients, seconds):
    latencies, stop = [], time.monotonic() + seconds
    async with mrl.AsyncClient(socket) as client:

        async def loop(offset):
            n = offset
            while time.monotonic() < stop:
                started = time.perf_counter()
                await client.search(index, vector=vectors[n % len(vectors)], k=10)
                latencies.append(time.perf_counter() - started)
                n += clients

        await asyncio.gather(*(loop(offset) for offset in range(clients)))
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--queries", required=True, help="JSONL with a \"vector\" per line")
    parser.add_argument("--limit", type=int, default=1000, help="queries used (default 1,000)")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    vectors = load_vectors(args.queries, args.limit)
    print("| client | clients | QPS | p50 | p99 |\n|---|---|---|---|---|")
    for clients in (int(c) for c in args.clients.split(",")):
        row("sync", clients, run_sync(args.socket, args.index, vectors, clients, args.seconds), args.seconds)
        row("async", clients, asyncio.run(run_async(args.socket, args.index, vectors, clients, args.seconds)), args.seconds)


if __name__ == "__main__":
    main()
