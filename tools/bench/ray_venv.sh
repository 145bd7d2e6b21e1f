#!/usr/bin/env bash
# Ray for the benchmarks (tools/bench/ray_embed.py, ray_router.py): tools/.venv (gitignored, shared
# with venv.sh, which brings sentence-transformers + torch) topped up with the mrl client and its
# [ray] extra (ray[data,serve]==2.60.0), the versions make test pins. Quiet when all are there.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/bench/venv.sh
venv=tools/.venv
"$venv/bin/python" -c "import ray, mrl_ray, sentence_transformers" 2>/dev/null && exit 0
"$venv/bin/pip" install --quiet -e 'clients/python[ray]'
