#!/usr/bin/env bash
# mrl's ANN search against hnswlib, faiss and usearch in one run, on the same vectors and the
# same cores: the Debian reference embeddings (../shared/data), 1,000 title queries, 1 thread
# per query, recall@10 against exact 384-d search. Prints mrl's plan and budget sweeps, its
# graph build time on 1 and 2 threads, and the peers' table (tools/bench/ann_peers.py).
#   tools/bench/ann.sh            # QUERIES=N to change the query count
set -euo pipefail
cd "$(dirname "$0")/../.."
queries=${QUERIES:-1000}
tools/setup.sh
swift build -c release
tools/bench/ann_venv.sh
mrl=.build/release/mrl
out=tools/bench/out
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
[ -f "$out/debian-docs.jsonl" ] || python3 tools/known_item.py
$mrl index --data "$data" --index debian-ref "$out/debian-docs.jsonl" | tail -3
# Build times on 2 then 1 thread: the searches then walk the 1-thread graph, as the peers'
# searches walk their 1-thread builds (a 2-thread build of ours loses about a point of recall).
for threads in 2 1; do
  $mrl graph --data "$data" --index debian-ref --threads "$threads" | head -1
done
$mrl-bench ann --data "$data" --index debian-ref --queries "$out/debian-titles.jsonl" --limit "$queries"
$mrl-bench ann --data "$data" --index debian-ref --queries "$out/debian-titles.jsonl" --limit "$queries" --json > "$out/mrl_ann.json"
tools/.venv/bin/python tools/bench/ann_peers.py --queries "$queries" --build-threads 1,2
