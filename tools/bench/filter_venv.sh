#!/usr/bin/env bash
# The filter peers' virtualenv: tools/.venv (gitignored, shared with ann_venv.sh and venv.sh),
# topped up with whichever of numpy, lancedb, pyarrow, chromadb, orjson is missing. Quiet when all are there.
# Usage: tools/bench/filter_venv.sh && tools/.venv/bin/python tools/bench/filter_peers.py
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=tools/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
missing=()
for pair in numpy:numpy lancedb:lancedb pyarrow:pyarrow chromadb:chromadb orjson:orjson; do
  "$venv/bin/python" -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] || "$venv/bin/pip" install --quiet "${missing[@]}"
