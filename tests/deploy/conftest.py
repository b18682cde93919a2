# The browser tests' Chromium and screenshot folder (tests/e2e/conftest.py), for the deployment tests.
from tests.e2e.conftest import browser, shots  # noqa: F401 - fixtures
