#!/usr/bin/env bash
# Filtered vector search, mrl beside LanceDB and chromadb in one run, on the same data and the same
# 2 cores: the Debian reference embeddings with a seeded uniform `bucket` and their k-means
# `cluster` (tools/bench/filter_data.py), queries filtered by random bucket ranges (10%, 1%, 0.1%),
# by the query's nearest cluster and by a far one. mrl answers the evaluation half through the
# Python client's batch search (tools/bench/filter_mrl.py, the planner's choice); the peers are
# tuned on the tuning half and measured on the evaluation half (tools/bench/filter_peers.py).
#   tools/bench/filter.sh        # QUERIES=N evaluation queries per kind (1,000)
set -euo pipefail
cd "$(dirname "$0")/../.."
queries=${QUERIES:-1000}
out=tools/bench/out
mrl=.build/release/mrl
tools/setup.sh
swift build -c release
tools/bench/filter_venv.sh
py=tools/.venv/bin/python
[ -f "$out/filter-debian-eval.jsonl" ] || python3 tools/bench/filter_data.py
data=$(mktemp -d)
stop() { [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; rm -rf "$data"; }
trap stop EXIT
$mrl index --data "$data" --index filter-debian "$out/filter-debian-docs.jsonl" | tail -3
$mrl serve --data "$data" --socket "$data/mrl.sock" >/dev/null 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$data/mrl.sock" ] && break; sleep 0.1; done
$py tools/bench/filter_mrl.py --socket "$data/mrl.sock" --index filter-debian --eval-queries "$queries"
$py tools/bench/filter_peers.py --eval-queries "$queries"
