#!/usr/bin/env bash
# The demo: index the Debian package descriptions shipped in data/, ask a few questions, then
# start the daemon and ask it over its socket.
# Every 12th package by default (5,051 of them, spread over the alphabet: about a minute on
# 2 cores); FULL=1 indexes all 60,605. Re-running is cheap: unchanged documents are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
MRL=.build/release/mrl
DATA=${MRL_DATA:-indexes}
CORPUS=data/debian-packages.jsonl.gz
EVERY=12
[ -n "${FULL:-}" ] && EVERY=1

echo "== indexing one package in ${EVERY} of $CORPUS into $DATA/debian"
gzip -dc "$CORPUS" | awk -v every="$EVERY" 'NR % every == 1 || every == 1' | $MRL index --data "$DATA" --index debian -
echo
$MRL info --data "$DATA" --index debian
for q in "tiling window manager" "read and annotate PDF files" "play music from the command line" \
         "python library for HTTP requests" "compress files with a fast algorithm"; do
  echo
  echo "== mrl search \"$q\""
  $MRL search --data "$DATA" --index debian -k 5 "$q"
done
echo
echo "== the same query within a 0.2 ms budget: the planner runs the most accurate plan predicted to fit"
$MRL search --data "$DATA" --index debian -k 5 --budget-ms 0.2 "tiling window manager"
echo
echo "== an exact scan of the first 64 of 384 dimensions: a sixth of the bytes read, and worse answers,"
echo '   because MiniLM was not trained for truncation (PCA helps little; "mrl head --kind adaptor" trains a head that helps more)'
$MRL search --data "$DATA" --index debian -k 5 --dims 64 "tiling window manager"
echo
SOCKET="$DATA/mrl.sock"
echo "== the daemon: mrl serve on $SOCKET, queried over the socket (stopped at the end of the demo)"
$MRL serve --data "$DATA" --socket "$SOCKET" 2>"$DATA/serve.log" &
SERVE=$!
trap 'kill -TERM $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$SOCKET" ] && break; sleep 0.1; done
echo "\$ mrl search --socket $SOCKET --index debian --preset fast \"play music from the command line\""
$MRL search --socket "$SOCKET" --index debian -k 5 --preset fast "play music from the command line"
if command -v curl >/dev/null; then
  echo "\$ curl --unix-socket $SOCKET http://mrl/indexes/debian/search -d '{\"query\": \"ssh server\", \"k\": 3}'"
  curl -s --unix-socket "$SOCKET" http://mrl/indexes/debian/search -d '{"query": "ssh server", "k": 3}'
  echo
fi
