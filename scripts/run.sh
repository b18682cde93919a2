#!/usr/bin/env bash
# Install, then serve BN Lab on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
PY=.venv/bin/python
[ "${BN_LAB_NO_VENV:-0}" = 1 ] && PY=python3
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"  # two malloc heaps from the start (serve/memory.py)
exec "$PY" -m streamlit run app.py "$@"
