"""Latency of the `neuron` lesson at 100 000 samples after a slider move.

1. Server side: the page script's rerun time under AppTest (frame + page), 40 slider moves.
2. End to end: headless Chromium against `streamlit run`, from a key press on the w0
   slider to the redrawn output chart, 40 moves.
Targets (issue 3): p95 under 30 ms server side, under 150 ms end to end.

    python benchmarks/neuron_latency.py
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MOVES = 40


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
    at.switch_page("pages/neuron.py").run()
    times = []
    for i in range(MOVES):
        slider = at.slider(key="neuron.w0")
        slider.set_value(round(-1.0 + 0.05 * i, 2))
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
    report("server rerun (AppTest, frame + page)", times, 30)


def end_to_end():
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    import subprocess
    import urllib.request

    from conftest import CHROMIUM_ARGS, chromium_path, free_port
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
            page.goto(f"{base}/neuron?n=100000")
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot').length >= 2 "
                "&& document.querySelectorAll('.js-plotly-plot')[1].data"
            )
            slider = page.get_by_role("slider").nth(2)  # w0
            times = []
            for i in range(MOVES):
                old = page.evaluate("JSON.stringify(document.querySelectorAll('.js-plotly-plot')[1].data[0].y)")
                slider.focus()
                start = time.perf_counter()
                page.keyboard.press("ArrowLeft" if i % 2 else "ArrowRight")
                page.wait_for_function(
                    "old => { const p = document.querySelectorAll('.js-plotly-plot')[1];"
                    " return p && p.data && JSON.stringify(p.data[0].y) !== old; }",
                    arg=old,
                    polling="raf",
                    timeout=10_000,
                )
                times.append((time.perf_counter() - start) * 1000)
                page.wait_for_timeout(150)  # let the rerun settle before the next move
            browser.close()
        report("slider to redrawn chart (Chromium)", times, 150)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    server_side()
    end_to_end()
