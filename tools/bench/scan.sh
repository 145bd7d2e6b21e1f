#!/usr/bin/env bash
# Exact-scan benchmark, mrl against numpy, same vectors, same cores, one run.
# Needs ../shared/data (the Debian reference embeddings) and a release build (make bench).
# Writes tools/bench/out/scan.json and prints a markdown table for BENCHMARKS.md.
# Memory bandwidth on these VMs drifts from minute to minute, so mrl and numpy run
# alternately ROUNDS times (default 3) and the table gives the median of each figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tools/bench/out; mkdir -p "$out"
shared=../shared/data
[ -f "$shared/minilm-debian-docs.f16.npy" ] || { echo "scan.sh: $shared/minilm-debian-docs.f16.npy not found: this benchmark needs ../shared" >&2; exit 1; }
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy

rounds=${ROUNDS:-3}
for r in $(seq 1 "$rounds"); do
  .build/release/mrl-bench scan --json > "$out/scan-mrl-$r.json"
  for t in 1 2; do OPENBLAS_NUM_THREADS=$t python3 tools/bench/scan_numpy.py > "$out/scan-numpy-$t-$r.json"; done
done

python3 - "$out" "$rounds" <<'PY'
import json, sys, statistics
out, rounds = sys.argv[1], int(sys.argv[2])
def median_rows(rows_by_round, key):
    """Median of every numeric field across rounds, rows matched by `key`."""
    merged = {}
    for rows in rows_by_round:
        for row in rows:
            merged.setdefault(key(row), []).append(row)
    return [{f: (statistics.median(r[f] for r in rs) if isinstance(rs[0][f], float) else rs[0][f]) for f in rs[0]}
            for rs in merged.values()]
runs = [json.load(open(f"{out}/scan-mrl-{r}.json")) for r in range(1, rounds + 1)]
mrl = dict(runs[0])
mrl["scan"] = median_rows([x["scan"] for x in runs], lambda r: (r["threads"], r["dims"]))
mrl["ingest"] = median_rows([x["ingest"] for x in runs], lambda r: r["batch_size"])
mrl["read_bandwidth_gb_per_s"] = {t: statistics.median(x["read_bandwidth_gb_per_s"][t] for x in runs) for t in runs[0]["read_bandwidth_gb_per_s"]}
numpy = {t: {r["dims"]: r for r in median_rows([json.load(open(f"{out}/scan-numpy-{t}-{r}.json"))["scan"] for r in range(1, rounds + 1)],
                                                lambda r: r["dims"])} for t in (1, 2)}
bw = mrl["read_bandwidth_gb_per_s"]
print(f"{mrl['vectors']:,} × {mrl['dimensions']} vectors, {mrl['queries']} queries one at a time, k={mrl['k']}, kernels {mrl['kernels']}, median of {rounds} alternating rounds")
print(f"read bandwidth: 1 thread {bw['1']:.1f} GB/s, 2 threads {bw['2']:.1f} GB/s\n")
print("| threads | dims | mrl mean ms | mrl p50 | mrl p99 | numpy mean ms | numpy p50 | mrl speed-up (mean) | mrl GB/s | of bandwidth |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in mrl["scan"]:
    n = numpy[r["threads"]][r["dims"]]
    print(f"| {r['threads']} | {r['dims']} | {r['mean_ms']:.3f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {n['mean_ms']:.3f} | {n['p50_ms']:.3f} | "
          f"{n['mean_ms'] / r['mean_ms']:.2f}× | {r['gb_per_s']:.1f} | {100 * r['fraction_of_bandwidth']:.0f}% |")
print("\n| ingest batch size | vectors/s | MB/s |\n|---|---|---|")
for r in mrl["ingest"]:
    print(f"| {r['batch_size']} | {r['vectors_per_s']:,.0f} | {r['mb_per_s']:.1f} |")
json.dump({"mrl": mrl, "numpy": numpy}, open(f"{out}/scan.json", "w"), indent=1)
PY
