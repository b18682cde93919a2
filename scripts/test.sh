#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (engine, app, browser, lint).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
PY=.venv/bin/python
[ "${BN_LAB_NO_VENV:-0}" = 1 ] && PY=python3
"$PY" -m ruff check .
"$PY" -m ruff format --check .
exec "$PY" -m pytest "$@"
