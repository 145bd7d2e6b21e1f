#!/usr/bin/env bash
# The daemon-load peers' virtualenv: tools/.venv (gitignored, shared with tools/bench/venv.sh and
# ann_venv.sh), topped up with whichever of numpy, chromadb, pymilvus + milvus-lite is missing
# (milvus-lite is the embedded server behind `MilvusClient("file.db")`). Quiet when all are there.
# Usage: tools/bench/serve_venv.sh && tools/.venv/bin/python tools/bench/serve_peers.py
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=tools/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
missing=()
for pair in numpy:numpy chromadb:chromadb pymilvus:pymilvus milvus_lite:milvus-lite; do
  "$venv/bin/python" -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] || "$venv/bin/pip" install --quiet "${missing[@]}"
