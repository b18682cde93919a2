#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (engine, app, browser, lint).
#   --fast: the edit-test loop: no browser, no worker process, nothing slow (tests/conftest.py), no install
#   other arguments go to pytest, in both parts (bash scripts/test.sh tests/unit -x)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --fast ]; then
    shift
    PY=.venv/bin/python
    [ "${BN_LAB_NO_VENV:-0}" = 1 ] && PY=python3
    "$PY" -m ruff check .
    exec "$PY" -m pytest --fast -p no:cacheprovider tests/unit tests/app tests/test_packaging.py "$@"
fi
bash scripts/install.sh --dev
PY=.venv/bin/python
[ "${BN_LAB_NO_VENV:-0}" = 1 ] && PY=python3
"$PY" -m ruff check .
"$PY" -m ruff format --check .
# The whole suite in two parts (tests/conftest.py), side by side:
# - the tests bound to a clock (workers, servers, queues, playback, the claims), one after another, at normal
#   priority, as the whole suite once ran;
# - the tests that only compute or look at a page, on pytest-xdist workers, in a session of their own at the
#   lowest priority (nice 19, and the session's autogroup at 19: Linux shares CPU time between sessions before
#   it looks at nice values, as serve/worker.py explains), so they take only the CPU the first part leaves. Its
#   training workers run at that priority too: beside a busy session at normal priority they would wait.
# Where autogroups cannot be set, the parts run one after the other. Exit 5 (no test of a part among the
# arguments) is not a failure; the shared part's output follows the other's.
status=0
workers=${BN_LAB_TEST_WORKERS:-2}
failed() { [ "$1" = 0 ] || [ "$1" = 5 ] || status=$1; }
if [ -w /proc/self/autogroup ] && [ "${BN_LAB_TEST_SEQUENTIAL:-0}" != 1 ]; then
    shared_log=$(mktemp)
    setsid --wait bash -c 'echo 19 > /proc/self/autogroup && exec nice -n 19 "$@"' _ \
        "$PY" -m pytest -n "$workers" --part shared "$@" > "$shared_log" 2>&1 &
    shared=$!
    "$PY" -m pytest --part alone "$@" || failed $?
    wait "$shared" || failed $?
    cat "$shared_log"
    rm -f "$shared_log"
else
    "$PY" -m pytest -n "$workers" --part shared "$@" || failed $?
    "$PY" -m pytest --part alone "$@" || failed $?
fi
exit "$status"
