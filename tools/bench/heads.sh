#!/usr/bin/env bash
# Naive truncation vs the PCA head on the Debian known-item task (reference embeddings from
# ../shared/data, so the figures do not depend on our encoder). Prints both `mrl eval` tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup.sh
swift build -c release
mrl=.build/release/mrl
out=tools/bench/out
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
[ -f "$out/debian-docs.jsonl" ] || python3 tools/known_item.py
$mrl index --data "$data" --index debian-ref "$out/debian-docs.jsonl"
for kind in none pca; do
  $mrl head --data "$data" --index debian-ref --kind "$kind"
  $mrl eval --data "$data" --index debian-ref --queries "$out/debian-titles.jsonl" "$@"
done
