#!/usr/bin/env bash
# The ANN peers' virtualenv: tools/.venv (gitignored, shared with tools/bench/venv.sh),
# topped up with whichever of numpy, hnswlib, faiss-cpu, usearch, orjson is missing. Quiet when all are there.
# Usage: tools/bench/ann_venv.sh && tools/.venv/bin/python tools/bench/ann_peers.py
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=tools/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
missing=()
for pair in numpy:numpy hnswlib:hnswlib faiss:faiss-cpu usearch:usearch orjson:orjson; do
  "$venv/bin/python" -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] || "$venv/bin/pip" install --quiet "${missing[@]}"
