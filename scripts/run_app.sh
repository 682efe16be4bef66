#!/usr/bin/env bash
# Runs SegLoss Lab: installs what it needs into .venv on first use, then serves on port 8501.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh requirements.txt
exec .venv/bin/python -m streamlit run app.py --browser.gatherUsageStats false "$@"
