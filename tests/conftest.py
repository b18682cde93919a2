"""Fixtures every browser test shares (tests/e2e, tests/deploy): one Chromium for the whole run.
Playwright's sync API allows one instance per thread, so the browser is defined once, here."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Every figure a test builds (and every figure of the servers the browser tests start) is validated by
# Plotly, property by property; the app skips that (ui/charts.py).
os.environ["BN_LAB_VALIDATE_FIGURES"] = "1"

from tests.e2e.conftest import CHROMIUM_ARGS, SHOTS, chromium_path  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: scripts/install.sh --dev installs it")
        pytest.skip("Chromium is not installed (scripts/install.sh --dev installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
