#!/usr/bin/env bash
# Runs SegLoss Lab: installs what it needs into .venv on first use, then serves on port 8501.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh requirements.txt
# segloss_app.serve: `streamlit run app.py` with torch & co imported before the first visitor
exec .venv/bin/python -m segloss_app.serve --browser.gatherUsageStats false "$@"
