#!/usr/bin/env bash
# The hybrid peers' virtualenv: tools/.venv (gitignored, shared with the other bench scripts),
# topped up with whichever of numpy, lancedb, pyarrow, pandas and the Python client is missing.
# Idempotent: another script (the filter peers) adds lancedb too; quiet when all are there.
# Usage: tools/bench/hybrid_venv.sh && tools/.venv/bin/python tools/bench/hybrid_eval.py --help
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=tools/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
missing=()
for pair in numpy:numpy lancedb:lancedb pyarrow:pyarrow pandas:pandas; do
  "$venv/bin/python" -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
done
"$venv/bin/python" -c "import mrl" 2>/dev/null || missing+=(-e clients/python)
[ ${#missing[@]} -eq 0 ] || "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
