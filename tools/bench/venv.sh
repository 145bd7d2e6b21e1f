#!/usr/bin/env bash
# The peers' virtualenv for benchmarks only (never used by make test or make demo):
# tools/.venv (gitignored) with sentence-transformers + torch (CPU), onnxruntime, onnx, numpy.
# torch from PyPI is a multi-GB install; it happens once.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=tools/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import sentence_transformers, torch, onnxruntime, onnx" 2>/dev/null && exit 0
"$venv/bin/pip" install --quiet sentence-transformers torch onnxruntime onnx numpy
