#!/usr/bin/env bash
# Filtered vector search, mrl beside LanceDB and chromadb in one run, on the same data and the same
# 2 cores: the Debian reference embeddings with a seeded uniform `bucket` and their k-means
# `cluster` (tools/bench/filter_data.py), queries filtered by random bucket ranges (10%, 1%, 0.1%),
# by the query's nearest cluster and by a far one. mrl answers the evaluation half with every
# filter strategy and the planner's choice (`mrl-bench ann --filtered`, in process, one query at a
# time); the peers are tuned on the tuning half and measured on the evaluation half
# (tools/bench/filter_peers.py, one query per call from a Python loop).
#   tools/bench/filter.sh        # QUERIES=N evaluation queries per kind (1,000)
set -euo pipefail
cd "$(dirname "$0")/../.."
queries=${QUERIES:-1000}
out=tools/bench/out
mrl=.build/release/mrl
tools/setup.sh
swift build -c release
tools/bench/filter_venv.sh
[ -f "$out/filter-debian-eval.jsonl" ] || python3 tools/bench/filter_data.py
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
$mrl index --data "$data" --index filter-debian "$out/filter-debian-docs.jsonl" | tail -3
$mrl-bench ann --data "$data" --index filter-debian --filtered "$out/filter-debian-eval.jsonl" --limit "$queries"
$mrl-bench ann --data "$data" --index filter-debian --filtered "$out/filter-debian-eval.jsonl" --limit "$queries" --json > "$out/mrl_filter.json"
tools/.venv/bin/python tools/bench/filter_peers.py --eval-queries "$queries"
