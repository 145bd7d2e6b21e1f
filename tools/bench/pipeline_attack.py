#!/usr/bin/env python3
"""The pipelining attack of issue 16: connections that write pipelined searches and never read
an answer. Samples the daemon's anonymous memory (RssAnon) each second against its idle baseline,
and checks that another client is still answered meanwhile.

  mrl serve --data DATA --socket SOCK &
  python3 tools/bench/pipeline_attack.py --socket SOCK --index debian --queries tools/bench/out/debian-titles.jsonl

Goal: RssAnon grows by at most 100 MB over the idle baseline, and the other client's searches
are all answered.
"""
import argparse
import json
import socket
import threading
import time

from daemon_client import UnixConnection, call, daemon_pid, quantile, rss_anon_kb


def attacker(path, request, stop, sent):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.settimeout(1)
    try:
        while not stop.is_set():
            try:
                sock.sendall(request)  # blocks once the daemon stops reading us
                sent[0] += 1
            except socket.timeout:
                continue  # still open, not read: keep pressing
    except OSError:
        pass  # the daemon closed the connection
    finally:
        sock.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--queries", required=True, help="JSONL with a \"vector\" per line (the first is used)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    with open(args.queries) as f:
        vector = json.loads(f.readline())["vector"]
    body = json.dumps({"vector": vector, "k": 10}).encode()
    request = (f"POST /indexes/{args.index}/search HTTP/1.1\r\nHost: mrl\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    pid = daemon_pid(args.socket)
    time.sleep(1)
    baseline = rss_anon_kb(pid)
    stop = threading.Event()
    sent = [[0] for _ in range(args.connections)]
    threads = [threading.Thread(target=attacker, args=(args.socket, request, stop, sent[i])) for i in range(args.connections)]
    for t in threads:
        t.start()

    other = UnixConnection(args.socket, timeout=10)
    latencies, failures, peak = [], 0, baseline
    deadline = time.time() + args.seconds
    next_sample = time.time()
    while time.time() < deadline:
        start = time.perf_counter()
        try:
            status, _ = call(other, "POST", f"/indexes/{args.index}/search", {"vector": vector, "k": 10})
            failures += status != 200
        except OSError:
            failures += 1
            other = UnixConnection(args.socket, timeout=10)
        latencies.append((time.perf_counter() - start) * 1e3)
        if time.time() >= next_sample:
            peak = max(peak, rss_anon_kb(pid))
            next_sample += 1
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    print(json.dumps({
        "connections": args.connections, "seconds": args.seconds,
        "requests_sent_unread": sum(s[0] for s in sent),
        "rss_anon_baseline_mb": baseline / 1024, "rss_anon_peak_mb": peak / 1024, "growth_mb": (peak - baseline) / 1024,
        "other_client": {"searches": len(latencies), "failures": failures,
                         "p50_ms": quantile(latencies, 0.5), "p99_ms": quantile(latencies, 0.99)},
    }, indent=2))


if __name__ == "__main__":
    main()
