#!/usr/bin/env bash
# The Python client's test virtualenv: clients/python/.venv (gitignored), with the pinned
# requirements-test.txt and the client itself (editable). Quiet when already up to date.
# Usage: clients/python/venv.sh && clients/python/.venv/bin/python -m pytest clients/python/tests
set -euo pipefail
cd "$(dirname "$0")"
venv=.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp=$(cat requirements-test.txt pyproject.toml | sha256sum)
if [ "$(cat "$venv/installed" 2>/dev/null)" != "$stamp" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-test.txt -e '.[langchain,llama-index,ray]'
  echo "$stamp" > "$venv/installed"
fi
