#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (engine, app, browser, lint).
#   --fast: the edit-test loop: no browser, no worker process, nothing slow (tests/conftest.py), no install
#   other arguments go to pytest, in both parts (bash scripts/test.sh tests/core -x)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --fast ]; then
    shift
    PY=.venv/bin/python
    [ "${BN_LAB_NO_VENV:-0}" = 1 ] && PY=python3
    "$PY" -m ruff check .
    exec "$PY" -m pytest --fast -p no:cacheprovider tests/core tests/app tests/test_packaging.py "$@"
fi
bash scripts/install.sh --dev
PY=.venv/bin/python
[ "${BN_LAB_NO_VENV:-0}" = 1 ] && PY=python3
"$PY" -m ruff check .
"$PY" -m ruff format --check .
# The whole suite in two parts (tests/conftest.py): the tests that only compute or look at a page on two
# pytest-xdist workers, then the tests bound to a clock, one after another with nothing beside them.
# Both parts run even if the first fails; exit 5 (no test of this part among the arguments) is not a failure.
status=0
"$PY" -m pytest -n "${BN_LAB_TEST_WORKERS:-2}" --part shared "$@" || status=$?
[ "$status" = 5 ] && status=0
"$PY" -m pytest --part alone "$@" || { s=$?; [ "$s" = 5 ] || status=$s; }
exit "$status"
