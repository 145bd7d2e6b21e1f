#!/usr/bin/env bash
# Two builds of mrl under the same load, in turns: each round starts build A's daemon and runs
# A's `mrl-bench serve` (beside its mrl), then the same for B. This machine's speed drifts by a third from hour
# to hour, so only builds measured in turns like this can be compared.
#   tools/bench/serve_ab.sh OLD/.build/release/mrl .build/release/mrl DATA INDEX [ROUNDS]
# e.g. build the old commit in a worktree: git worktree add /tmp/old COMMIT && (cd /tmp/old && swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/../.."
a=$1 b=$2 data=$3 index=$4 rounds=${5:-3}
socket="$data/ab.sock"
queries=tools/bench/out/debian-titles.jsonl
[ -f "$queries" ] || python3 tools/known_item.py
# A build from before mrl-bench had the benches inside mrl (`mrl bench serve`).
load() { if [ -x "$(dirname "$1")/mrl-bench" ]; then "$(dirname "$1")/mrl-bench" "${@:2}"; else "$1" bench "${@:2}"; fi; }
stop() { [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true; }
trap stop EXIT
for round in $(seq "$rounds"); do
  for build in "$a" "$b"; do
    "$build" serve --data "$data" --socket "$socket" >/dev/null 2>&1 &
    daemon=$!
    for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
    echo "round $round, $build:"
    load "$build" serve --socket "$socket" --index "$index" --queries "$queries" --clients 1,8,64 --requests 60000 --seconds 6 | tail -4
    stop
  done
done
