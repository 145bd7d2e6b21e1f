#!/usr/bin/env bash
# mrl's encoder against PyTorch and ONNX Runtime, same texts, same 2 cores, one run.
# Makes the peers' virtualenv (tools/bench/venv.sh, large, once) and a release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup.sh
swift build -c release
tools/bench/venv.sh
tools/.venv/bin/python tools/bench/encoder_peers.py "$@"
