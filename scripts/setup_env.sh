#!/usr/bin/env bash
# Creates .venv (once) and installs the pinned requirements given as $1; re-installs only when
# that requirements file changes. Sourced by run_app.sh and run_tests.sh.
set -euo pipefail
req="${1:-requirements.txt}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$py" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$req")"
want="$(cat requirements.txt "$req" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== installing $req (first run: ~2 min)"
  .venv/bin/pip install --disable-pip-version-check -q -r "$req"
  echo "$want" > "$stamp"
fi
