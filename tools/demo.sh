#!/usr/bin/env bash
# The demo: index the Debian package descriptions shipped in data/ and ask a few questions.
# 5,000 packages by default (a few minutes on 2 cores); FULL=1 indexes all 60,605.
# Re-running is cheap: unchanged documents are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
MRL=.build/release/mrl
DATA=${MRL_DATA:-indexes}
CORPUS=data/debian-packages.jsonl.gz
LIMIT=(--limit 5000)
[ -n "${FULL:-}" ] && LIMIT=()

echo "== indexing $CORPUS into $DATA/debian ${LIMIT[*]:-(all)}"
$MRL index --data "$DATA" --index debian "${LIMIT[@]}" "$CORPUS"
echo
$MRL info --data "$DATA" --index debian
for q in "tiling window manager" "read and annotate PDF files" "play music from the command line" \
         "python library for HTTP requests" "compress files with a fast algorithm"; do
  echo
  echo "== mrl search \"$q\""
  $MRL search --data "$DATA" --index debian -k 5 "$q"
done
echo
echo "== the same query at 64 of 384 dimensions (a sixth of the bytes read)"
$MRL search --data "$DATA" --index debian -k 5 --dims 64 "tiling window manager"
