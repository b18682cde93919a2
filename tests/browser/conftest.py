"""A real `streamlit run` on a free port and Debian's Chromium driven by Playwright."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return os.environ.get("BN_LAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(log_name: str = "streamlit-e2e.log", env: dict[str, str] | None = None):
    """A fresh `streamlit run app.py` on a free port (``env``: extra environment); yields its base URL."""
    port = free_port()
    artifacts = ROOT / "artifacts"
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # two pytest workers: one log each
    log_name = log_name.replace(".log", f"-{worker}.log") if worker else log_name
    log = open(artifacts / log_name, "w") if artifacts.exists() else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not answer /_stcore/health within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server():
    with streamlit_server() as base:
        yield base


@pytest.fixture
def fresh_server():
    """A server of its own, whose first request is the test's."""
    with streamlit_server("streamlit-e2e-fresh.log") as base:
        yield base


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def metric_label(page, label: str):
    """A metric's label on the page (not the same words in a code block, such as the code for this's script)."""
    return page.get_by_test_id("stMetricLabel").filter(has_text=label).first


def press_until(button, wait, tries: int = 4, each: int = 30_000) -> None:
    """Press ``button`` until ``wait(timeout_ms)`` returns. A press can be lost while the page runs again for its
    own reasons (the tab's id, reported a moment after the page appeared, reruns it; ui/notice.py): a student would
    press again, and so does this (pressing Play or Train again joins the same computation, or replays its record).
    Seen in CI: a pair's first steps never came after one press, in 1 of 3 languages."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries):
        button.click()
        try:
            wait(each)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


# What a fixed pause before a screenshot or a look at the layout stood for: the page has stopped changing. Its
# signature (the main area's height, the charts in it and how many are drawn, widgets still loading, the script
# running, fonts) must stay the same for ``quiet`` ms in a row.
SETTLED = """quiet => {
    const main = document.querySelector('[data-testid="stMain"]') || document.body;
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    const signature = [main.scrollHeight, main.scrollWidth, plots.length, plots.filter(p => p.data).length,
        document.querySelectorAll('[data-testid="stSkeleton"]').length,
        document.querySelectorAll('[data-testid="stStatusWidgetRunningIcon"]').length,
        document.fonts.status].join();
    const now = performance.now(), last = globalThis.__bnSettled;
    if (!last || last.signature !== signature) {
        globalThis.__bnSettled = {signature, since: now};
        return false;
    }
    return now - last.since >= quiet && document.fonts.status === 'loaded';
}"""


def settled(page, quiet: int = 300, timeout: int = 60_000) -> None:
    """Wait until the page has stopped changing (``SETTLED``) for ``quiet`` ms."""
    page.evaluate("() => { delete globalThis.__bnSettled; }")
    page.wait_for_function(SETTLED, arg=quiet, polling=50, timeout=timeout)


def until(page, predicate, timeout: int) -> bool:
    """Whether ``predicate()`` (on what the page's events, such as its websocket frames, gathered in Python) came
    true within ``timeout`` ms; Playwright delivers those events while the page waits."""
    deadline = time.monotonic() + timeout / 1000
    while not predicate():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(100)
    return True
