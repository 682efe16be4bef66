#!/usr/bin/env bash
# Runs every test: library, AppTest pages and real-browser tests (Debian's Chromium).
# Installs what it needs on first use: .venv with requirements-test.txt, and chromium via apt when
# it is missing and we are root. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh requirements-test.txt
if [ -f requirements-test-nodeps.txt ] && ! .venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('segmentation_models_pytorch') is None)" 2>/dev/null; then
  echo "== installing requirements-test-nodeps.txt (--no-deps)"
  .venv/bin/pip install --disable-pip-version-check -q --no-deps -r requirements-test-nodeps.txt
fi
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "== chromium not found and cannot be installed here: browser tests will be skipped"
  fi
fi
exec .venv/bin/python -m pytest --durations=8 "$@" tests  # one line per test file, with its progress
