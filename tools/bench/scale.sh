#!/usr/bin/env bash
# Issue 5 at scale: the 601,620 PyPI summaries (../shared/data/pypi-summaries.jsonl.gz), embedded
# by mrl, indexed, graph built on 1 and 2 threads, plans and budgets swept, beside hnswlib and
# exact search on the same vectors and the same cores. Queries: 10,000 package names drawn with a
# fixed seed (known item: the name's summary), 1,000 of them timed.
#   tools/bench/scale.sh          # OUT=dir for the large files (default tools/bench/out/scale)
# Embedding takes about 25 minutes on 2 cores; the vectors are kept and reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-tools/bench/out/scale}
queries=${QUERIES:-1000}
mrl=.build/release/mrl
mkdir -p "$out"
tools/setup.sh
swift build -c release
tools/bench/ann_venv.sh
py=tools/.venv/bin/python

[ -f "$out/pypi-names.jsonl" ] || $py tools/bench/pypi_known_item.py names --out "$out"
[ -f "$out/pypi-docs.f32.npy" ] || $mrl embed ../shared/data/pypi-summaries.jsonl.gz -o "$out/pypi-docs.f32.npy"
[ -f "$out/pypi-names.f32.npy" ] || $mrl embed "$out/pypi-names.jsonl" -o "$out/pypi-names.f32.npy"
[ -f "$out/pypi-docs.jsonl" ] || $py tools/bench/pypi_known_item.py vectors --out "$out"

data=$out/data        # kept for follow-ups, e.g. mrl eval --data $out/data --index pypi --compare-heads none,pca,adaptor
rm -rf "$data"
/usr/bin/time -f "index: %e s, peak RSS %M KB" $mrl index --data "$data" --index pypi "$out/pypi-docs.jsonl" | tail -4
for threads in 1 2; do
  $mrl graph --data "$data" --index pypi --threads "$threads" | head -1
done
$mrl info --data "$data" --index pypi
$mrl-bench ann --data "$data" --index pypi --queries "$out/pypi-queries.jsonl" --limit "$queries"
$mrl eval --data "$data" --index pypi --queries "$out/pypi-queries.jsonl" --limit "$queries" --dims 64,128,384
$py tools/bench/ann_peers.py --docs "$out/pypi-docs.f32.npy" --titles "$out/pypi-names.f32.npy" --queries "$queries" \
    --systems numpy-flat,hnswlib --build-threads 1,2 --out "$out/ann_peers.json"
