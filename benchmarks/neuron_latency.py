"""Latency of the `neuron` lesson at 100 000 samples after a slider move.

1. Server side, full rerun: the whole script (frame + page) under AppTest, 40 slider moves.
   AppTest cannot rerun a fragment alone, and adds its own parsing of the page.
2. End to end: headless Chromium against `streamlit run`, from a key press on the w0
   slider to the redrawn output chart, 40 moves. The server logs how long each run of
   the lesson's fragment took (BN_LAB_LOG_LEVEL=DEBUG): the server-side time of a
   slider move in the real app.
3. Floor, for reference: the same end-to-end loop against `two_charts_app.py`, a bare
   Streamlit page with three sliders and two Plotly histograms and nothing else.
Targets (issue 3): p95 under 30 ms server side, under 150 ms end to end.

    python benchmarks/neuron_latency.py
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

MOVES = 40

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the server-side part runs without Playwright
    PlaywrightTimeout = TimeoutError


def p95(values):
    return sorted(values)[int(0.95 * (len(values) - 1))]


def report(name, ms, target):
    print(
        f"{name}: p50 {statistics.median(ms):.1f} ms, p95 {p95(ms):.1f} ms, "
        f"target {target} ms, p95/target {p95(ms) / target:.2f}"
    )


def server_side():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["n"] = "100000"
    at.run()
    at.switch_page("lessons/neuron/neuron.py").run()
    times = []
    for i in range(MOVES):
        slider = at.slider(key="neuron.w0")
        slider.set_value(round(-1.0 + 0.05 * i, 2))
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
    report("server full rerun (AppTest, frame + page)", times, 30)


def slider_to_chart(app: Path, path: str, slider_index: int) -> tuple[list[float], str]:
    """Key presses on a slider → ms until the second Plotly chart's bars change; and the server's log."""
    from conftest import CHROMIUM_ARGS, chromium_path, free_port
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = tempfile.TemporaryFile("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "BN_LAB_LOG_LEVEL": "DEBUG"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            times = time_slider_moves(page, base + path, slider_index)
            browser.close()
        log.seek(0)
        return times, log.read()
    finally:
        server.terminate()
        server.wait(10)
        log.close()


CHART = "document.querySelectorAll('.js-plotly-plot')[1]"


def time_slider_moves(
    page, url: str, slider_index: int, timeout: float = 10_000, lost: list | None = None
) -> list[float]:
    """Open ``url``; MOVES key presses on a slider, each timed until the second Plotly chart's bars change.
    A move whose chart does not change within ``timeout`` is not timed; it goes to ``lost`` if given
    (otherwise it is an error)."""
    page.goto(url)
    page.wait_for_function(f"{CHART} && {CHART}.data", timeout=120_000)
    slider = page.get_by_role("slider").nth(slider_index)
    times = []
    for i in range(MOVES):
        # the chart is remounted for a moment by some reruns: read it once it is drawn
        old = page.wait_for_function(
            f"() => {{ const p = {CHART}; return p && p.data && JSON.stringify(p.data[0].y); }}"
        )
        old = old.json_value()
        slider.focus()
        start = time.perf_counter()
        page.keyboard.press("ArrowLeft" if i % 2 else "ArrowRight")
        try:
            page.wait_for_function(
                f"old => {{ const p = {CHART}; return p && p.data && JSON.stringify(p.data[0].y) !== old; }}",
                arg=old,
                polling="raf",
                timeout=timeout,
            )
        except PlaywrightTimeout:
            if lost is None:
                raise
            lost.append(i)
            continue
        times.append((time.perf_counter() - start) * 1000)
        page.wait_for_timeout(150)  # let the rerun settle before the next move
    return times


def end_to_end():
    times, log = slider_to_chart(ROOT / "app.py", "/neuron?n=100000", slider_index=2)  # w0
    runs = [float(m) for m in re.findall(r"neuron.lesson ran in ([0-9.]+) ms", log)]
    report("server run of the lesson fragment after a slider move (streamlit run)", runs[-MOVES:], 30)
    report("slider to redrawn chart (Chromium)", times, 150)
    floor, _ = slider_to_chart(ROOT / "benchmarks" / "two_charts_app.py", "/", slider_index=2)
    report("floor: bare page with two Plotly charts, slider to redrawn chart (Chromium)", floor, 150)


if __name__ == "__main__":
    server_side()
    end_to_end()
