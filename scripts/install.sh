#!/usr/bin/env bash
# Install BN Lab's dependencies. Usage: scripts/install.sh [--dev]
#   Python packages go into .venv (created if missing) unless BN_LAB_NO_VENV=1.
#   torch is installed first, as the CPU build, so pip never pulls the CUDA packages.
#   --dev adds the test tools and, through apt-get, Chromium and CJK fonts for the browser tests
#   and HAProxy for the deployment tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ "${BN_LAB_NO_VENV:-0}" != 1 ]; then
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    PYTHON=.venv/bin/python
fi

if ! "$PYTHON" -c 'import sys, torch; sys.exit(not torch.__version__.startswith("2.13.0"))' 2>/dev/null; then
    # A local CPU wheel if pip's configuration offers one, else the PyTorch CPU index.
    "$PYTHON" -m pip install --no-index --no-deps torch==2.13.0 2>/dev/null ||
        "$PYTHON" -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
fi
"$PYTHON" -m pip install -r requirements.txt

if [ "${1:-}" = --dev ]; then
    "$PYTHON" -m pip install -r requirements-dev.txt
    # tests/unit/test_keras_real.py: Keras 3 itself, outside the app's environment (its tests append it to sys.path)
    [ -f .keras-lib/keras-3.15.1.dist-info/METADATA ] ||
        "$PYTHON" -m pip install -q --target .keras-lib --upgrade keras==3.15.1
    PACKAGES=""
    # tests/browser/test_accessibility.py: axe-core, the accessibility checker, from the npm registry (tests only)
    command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
    command -v chromium >/dev/null 2>&1 || PACKAGES="$PACKAGES chromium fonts-noto-cjk"
    # tests/deploy: replicas behind HAProxy (in /usr/sbin, often not on a user's PATH)
    command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || PACKAGES="$PACKAGES haproxy"
    # tests/unit/test_player_js.py: the run player's JavaScript under Node
    command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
    if [ -n "$PACKAGES" ]; then
        SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
        $SUDO apt-get update -qq
        # shellcheck disable=SC2086 # a list of package names
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES
    fi
    [ -f .axe/node_modules/axe-core/axe.min.js ] ||
        npm install --prefix .axe --no-audit --no-fund --no-save --loglevel=error axe-core@4.14.1
fi
