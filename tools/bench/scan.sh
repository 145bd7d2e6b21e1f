#!/usr/bin/env bash
# Exact-scan benchmark, mrl against numpy, same vectors, same cores, one run.
# Needs ../shared/data (the Debian reference embeddings) and a release build (make bench).
# Writes tools/bench/out/scan.json and prints a markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tools/bench/out; mkdir -p "$out"
shared=../shared/data
[ -f "$shared/minilm-debian-docs.f16.npy" ] || { echo "scan.sh: $shared/minilm-debian-docs.f16.npy not found: this benchmark needs ../shared" >&2; exit 1; }
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy

.build/release/mrl bench scan --json > "$out/scan-mrl.json"
for t in 1 2; do OPENBLAS_NUM_THREADS=$t python3 tools/bench/scan_numpy.py > "$out/scan-numpy-$t.json"; done

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
mrl = json.load(open(f"{out}/scan-mrl.json"))
numpy = {t: {r["dims"]: r for r in json.load(open(f"{out}/scan-numpy-{t}.json"))["scan"]} for t in (1, 2)}
bw = mrl["read_bandwidth_gb_per_s"]
print(f"{mrl['vectors']:,} × {mrl['dimensions']} vectors, {mrl['queries']} queries one at a time, k={mrl['k']}, kernels {mrl['kernels']}")
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
