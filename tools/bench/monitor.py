#!/usr/bin/env python3
"""Issue 18: the daemon's live recall monitor on a change of query kind.

  python3 tools/bench/known_item.py                          # once: tools/bench/out/debian-*.jsonl
  python3 tools/bench/pypi_known_item.py sample --out tools/bench/out
  python3 tools/bench/monitor.py build --data /tmp/bench-data   # one index "both": Debian + the PyPI sample
  python3 tools/bench/monitor.py run --index-from /tmp/bench-data/both

`run` copies the index (so the one given is not changed), clears its query log, tunes its presets
on 1,000 Debian titles (not those of phase A) and serves it with a release `mrl serve` at its
default --monitor-cpu. Then, as text searches with the default plan:
  A. Debian titles (the log split, tools/bench/out/debian-train-pairs.jsonl) until the monitor has
     checked 300 of them, or 5,000 are sent;
  B. PyPI names (tools/bench/out/pypi-sample-log.jsonl) until the monitor has re-tuned, or 5,000;
  C. up to 2,000 more of the 5,000 names, on the re-tuned presets.
After each phase the monitor's own estimate (its recall over the answers it checked since its
last re-tune) is set beside a full offline measurement: every answer of the phase compared with an
exact 384-d search of the same text (sent with the query log switched off, so nothing is logged
twice). The monitor's CPU share is read from /metrics (mrl_monitor_cpu_seconds) against wall time.
None of these queries is an evaluation query of calibration.py.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from daemon_client import UnixConnection, call, serve

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tools", "bench", "out")


def build(args):
    """Writes both-docs.jsonl (ids prefixed deb: and pypi:, as the two may share names) and indexes it."""
    path = os.path.join(OUT, "both-docs.jsonl")
    with open(path, "w") as out:
        for prefix, source in (("deb:", "debian-docs.jsonl"), ("pypi:", "pypi-sample-docs.jsonl")):
            with open(os.path.join(OUT, source)) as f:
                for line in f:
                    doc = json.loads(line)
                    doc["id"] = prefix + doc["id"]
                    out.write(json.dumps(doc) + "\n")
    subprocess.run([args.mrl, "index", "--data", args.data, "--index", "both", path], check=True)


def texts(name, limit):
    with open(os.path.join(OUT, name)) as f:
        return [json.loads(line)["query"] for line, _ in zip(f, range(limit))]


def metric(conn, name):
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def retune_timing(retunes, sent, log_path):
    """How many names were answered before the first re-tune was stored (counted by the time
    each answer came back, so it holds when B ran out before the re-tune did), how long the
    re-tune took (from the daemon's log), and the latency of text searches before the change
    of kind, while the re-tune ran, and after it."""
    if not retunes:
        return {"retune": None}
    stored = datetime.datetime.fromisoformat(retunes[0]["at"].replace("Z", "+00:00")).timestamp() + 1  # "at" is cut to the second
    took = [float(m.group(1)) for m in re.finditer(r"re-tuned its presets on the query log in (\d+) s", open(log_path).read())]
    started = stored - 1 - took[0] if took else None

    def latency(rows):
        ms = sorted(1000 * d for _, d, _ in rows)
        return {"searches": len(ms), "p50_ms": ms[len(ms) // 2], "p99_ms": ms[int(len(ms) * 0.99)]} if ms else None
    names = [r for r in sent if r[2] in "BC"]
    return {"names_before_retune_stored": sum(1 for t, _, _ in names if t < stored), "retune_seconds": took[0] if took else None,
            "latency_titles": latency([r for r in sent if r[2] == "A"]),
            "latency_names_during_retune": latency([r for r in names if started is not None and started <= r[0] < stored]),
            "latency_names_after_retune": latency([r for r in names if r[0] >= stored])}


def run(args):
    data = tempfile.mkdtemp(prefix="mrl-monitor-")
    index = os.path.basename(os.path.normpath(args.index_from))
    shutil.copytree(args.index_from, os.path.join(data, index))
    for stale in ("writer.lock", "lock.mdb"):
        if os.path.exists(os.path.join(data, index, stale)):
            os.remove(os.path.join(data, index, stale))
    subprocess.run([args.mrl, "queries", "--data", data, "--index", index, "--clear", "--enable-logging"],
                   check=True, capture_output=True)
    # The presets start tuned for titles (1,000 of them past those phase A sends), as a daemon
    # that has served titles for a while would have them: A is the steady state, B the change.
    tune_queries = os.path.join(data, "titles-tune.jsonl")
    with open(tune_queries, "w") as out:
        out.writelines(json.dumps({"query": t}) + "\n" for t in texts("debian-train-pairs.jsonl", 6000)[5000:])
    subprocess.run([args.mrl, "tune", "--data", data, "--index", index, "--queries", tune_queries], check=True, capture_output=True)
    socket = os.path.join(data, "mrl.sock")
    log = open(os.path.join(data, "serve.log"), "w")
    daemon = serve(args.mrl, data, socket, stderr=log)
    try:
        conn = UnixConnection(socket)
        started, cpu0 = time.time(), metric(conn, "mrl_monitor_cpu_seconds")
        samples = []  # (wall, cpu seconds) every 10 s, for the busiest minute

        def monitor():
            return call(conn, "GET", f"/indexes/{index}")[1]["monitor"] or {}

        sent = []  # (when answered, seconds taken, phase) of every search of A, B and C

        def phase(queries, until, name):
            answered = []
            for n, text in enumerate(queries):
                start = time.time()
                status, body = call(conn, "POST", f"/indexes/{index}/search", {"query": text, "k": 10})
                sent.append((time.time(), time.time() - start, name))
                if status != 200:
                    sys.exit(f"a search failed with {status}: {body}")
                answered.append((text, [h["id"] for h in body["hits"]], body.get("predicted_recall")))
                if n % 100 == 99:
                    if not samples or time.time() - samples[-1][0] >= 10:
                        samples.append((time.time(), metric(conn, "mrl_monitor_cpu_seconds")))
                    if until(monitor()):
                        break
            return answered

        def offline(answered):
            call(conn, "PUT", f"/indexes/{index}/queries", {"enabled": False})
            found = 0
            for text, hits, _ in answered:
                _, exact = call(conn, "POST", f"/indexes/{index}/search", {"query": text, "k": 10, "dims": 384})
                found += len(set(hits) & {h["id"] for h in exact["hits"]})
            call(conn, "PUT", f"/indexes/{index}/queries", {"enabled": True})
            return found / (10 * len(answered))

        def report(name, answered, retunes_before):
            state = monitor()
            tally = state.get("presets", {}).get("default", {})
            row = {"phase": name, "queries": len(answered), "monitor_checked": tally.get("checked", 0),
                   "monitor_recall": tally.get("recall"), "monitor_window_recall": tally.get("window_recall"),
                   "offline_recall": offline(answered), "retunes": len(state.get("retunes", [])) - retunes_before,
                   "promised": answered[-1][2]}
            print(json.dumps(row), flush=True)
            return row

        debian = texts("debian-train-pairs.jsonl", 5000)
        pypi = texts("pypi-sample-log.jsonl", 7000)
        rows = []
        a = phase(debian, lambda m: m.get("presets", {}).get("default", {}).get("checked", 0) >= 300, "A")
        rows.append(report("A: Debian titles", a, 0))
        retunes = len(monitor().get("retunes", []))
        b = phase(pypi[:5000], lambda m: len(m.get("retunes", [])) > retunes, "B")
        rows.append(report("B: PyPI names until re-tuned", b, retunes))
        time.sleep(1)
        c = phase(pypi[len(b):len(b) + 2000], lambda m: False, "C")
        if c:  # none left when B took every name without a re-tune
            rows.append(report("C: PyPI names after", c, 0))
        print(json.dumps(retune_timing(monitor().get("retunes", []), sent, os.path.join(data, "serve.log"))), flush=True)
        wall = time.time() - started
        cpu = metric(conn, "mrl_monitor_cpu_seconds") - cpu0
        busiest = max(((c2 - c1) / (t2 - t1) for (t1, c1) in samples for (t2, c2) in samples if t2 - t1 >= 60), default=None)
        print(json.dumps({"monitor_cpu_seconds": cpu, "wall_seconds": wall, "cpu_share": cpu / wall,
                          "busiest_minute_share": busiest, "retunes": monitor().get("retunes")}, indent=1))
    finally:
        daemon.terminate()
        daemon.wait()
        log.close()
        print(open(os.path.join(data, "serve.log")).read()[-3000:])
        shutil.rmtree(data, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--data", required=True)
    r = sub.add_parser("run")
    r.add_argument("--index-from", required=True)
    for p in (b, r):
        p.add_argument("--mrl", default=os.path.join(ROOT, ".build", "release", "mrl"))
    args = parser.parse_args()
    build(args) if args.command == "build" else run(args)


if __name__ == "__main__":
    main()
