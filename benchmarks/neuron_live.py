"""The `neuron` lesson's live element, in headless Chromium against `streamlit run` (issue 10's targets).

1. A continuous drag of w1 for 3 s: redraws per second and the frame-to-frame time, at n = 10 000
   (targets: at least 30 redraws/s, p95 at most 33 ms) and n = 100 000 (p95 at most 50 ms); and the
   WebSocket messages the browser sent meanwhile (target 0). Two drivers: Playwright's mouse (a real
   pointer, but each move is a round trip to the browser, so it moves only about 25 times a second
   here), and a pointer driven inside the page, which moves the slider on every animation frame as a
   mouse does (browsers deliver pointer moves once per frame) and so measures what the element keeps up.
2. Release to updated metrics: DRAGS short drags, each released; ms from the mouse button's release
   until the first metric shows its new value (target p95 at most 150 ms). Keyboard steps likewise.
3. Data: bytes the browser received for a sample change at n = 100 000 (target at most 1 MB), and
   for a weight change (no sample).

    python benchmarks/neuron_live.py
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

DRAG_SECONDS = 3.0
DRAGS = 30
METRICS = "[...document.querySelectorAll('[data-testid=stMetric]')].map((m) => m.innerText).join('|')"


def p95(values):
    return sorted(values)[int(0.95 * (len(values) - 1))]


def line(name, values, target=None, unit="ms"):
    text = f"{name}: p50 {statistics.median(values):.1f} {unit}, p95 {p95(values):.1f} {unit}"
    if target:
        text += f", target {target} {unit}, p95/target {p95(values) / target:.2f}"
    print(text)


def open_lesson(page, url):
    page.goto(url)
    page.wait_for_function("() => globalThis.__bnLabNeuron && globalThis.__bnLabNeuron.last", timeout=120_000)
    page.wait_for_load_state("networkidle")
    slider = page.locator(".bnl-slider input").first
    slider.scroll_into_view_if_needed()
    return slider


def continuous_drag(page, base, n, sent):
    slider = open_lesson(page, f"{base}/neuron?n={n}")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    left, right = box["x"] + 0.1 * box["width"], box["x"] + 0.9 * box["width"]
    page.mouse.move(left, y)
    page.mouse.down()
    first, messages = page.evaluate("() => globalThis.__bnLabNeuron.frames.length"), len(sent)
    start, i = time.perf_counter(), 0
    while time.perf_counter() - start < DRAG_SECONDS:
        phase = (i % 200) / 100  # back and forth across the track
        page.mouse.move(left + (right - left) * (phase if phase <= 1 else 2 - phase), y)
        i += 1
    frames = page.evaluate(f"() => globalThis.__bnLabNeuron.frames.slice({first})")
    during = len(sent) - messages
    page.mouse.up()
    gaps = [b - a for a, b in zip(frames, frames[1:], strict=False)]
    seconds = (frames[-1] - frames[0]) / 1000
    print(f"n = {n:,}, Playwright mouse: {i} pointer moves, {len(frames)} redraws, {len(frames) / seconds:.1f}/s")
    line(f"  frame to frame, n = {n:,}", gaps, 33 if n <= 10_000 else 50)
    print(f"  WebSocket messages sent during the drag: {during} (target 0)")


def in_page_drag(page, base, n, sent):
    """The slider moved on every animation frame for DRAG_SECONDS, by script; each move fires the same
    `input` event a pointer does. Also the time each frame's computation and drawing took."""
    slider = open_lesson(page, f"{base}/neuron?n={n}")
    messages = len(sent)
    frames = slider.evaluate(
        """(input, seconds) => new Promise((done) => {
            const store = globalThis.__bnLabNeuron, first = store.frames.length, start = performance.now();
            let i = 0;
            const step = () => {
                input.value = String(-3 + 6 * ((i++ % 120) / 120));
                input.dispatchEvent(new Event("input", { bubbles: true }));
                if (performance.now() - start < seconds * 1000) requestAnimationFrame(step);
                else setTimeout(() => done(store.frames.slice(first)), 100);
            };
            requestAnimationFrame(step);
        })""",
        DRAG_SECONDS,
    )
    gaps = [b - a for a, b in zip(frames, frames[1:], strict=False)]
    seconds = (frames[-1] - frames[0]) / 1000
    print(f"n = {n:,}, moved on every frame by script: {len(frames)} redraws, {len(frames) / seconds:.1f}/s")
    line(f"  frame to frame, n = {n:,}", gaps, 33 if n <= 10_000 else 50)
    print(f"  WebSocket messages sent during the drag: {len(sent) - messages} (target 0)")


def time_releases(page, url, drags=DRAGS, lost=None, timeout=10_000):
    """Short drags of w0, each released; ms from release to the first metric's new value.
    A release whose metric does not change within ``timeout`` goes to ``lost`` (else an error)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    slider = open_lesson(page, url)
    slider = page.locator(".bnl-slider input").nth(2)
    times = []
    for i in range(drags):
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2
        fractions = (0.45, 0.35) if i % 2 else (0.35, 0.45)
        old = page.evaluate(f"() => {METRICS}")
        page.mouse.move(box["x"] + box["width"] * fractions[0], y)
        page.mouse.down()
        for k in range(1, 6):
            page.mouse.move(box["x"] + box["width"] * (fractions[0] + (fractions[1] - fractions[0]) * k / 5), y)
        start = time.perf_counter()
        page.mouse.up()
        try:
            page.wait_for_function(f"old => {METRICS} !== old", arg=old, polling="raf", timeout=timeout)
        except PlaywrightTimeout:
            if lost is None:
                raise
            lost.append(i)
            continue
        times.append((time.perf_counter() - start) * 1000)
        page.wait_for_timeout(150)
    return times


def time_key_steps(page, url, steps=DRAGS):
    slider = open_lesson(page, url)
    slider = page.locator(".bnl-slider input").nth(2)
    times = []
    for i in range(steps):
        old = page.evaluate(f"() => {METRICS}")
        slider.focus()
        start = time.perf_counter()
        page.keyboard.press("ArrowLeft" if i % 2 else "ArrowRight")
        page.wait_for_function(f"old => {METRICS} !== old", arg=old, polling="raf", timeout=10_000)
        times.append((time.perf_counter() - start) * 1000)
        page.wait_for_timeout(150)
    return times


def data_sizes(page, base):
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
    slider = open_lesson(page, f"{base}/neuron?n=100000")
    page.wait_for_timeout(500)
    sample = sum(received)
    received.clear()
    box = slider.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.58, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.50, box["y"] + box["height"] / 2)
    page.mouse.up()
    page.wait_for_url(lambda url: "w1=" in url)
    page.wait_for_timeout(1000)
    print(f"received for a page with a new sample at n = 100 000: {sample / 1e6:.3f} MB (target 1 MB)")
    print(f"received for a weight change: {sum(received) / 1e3:.1f} kB (no sample)")


def main():
    from conftest import CHROMIUM_ARGS, chromium_path, streamlit_server
    from playwright.sync_api import sync_playwright

    with streamlit_server("streamlit-neuron-live.log") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for n in (10_000, 100_000):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            sent = []
            page.on("websocket", lambda ws, sent=sent: ws.on("framesent", lambda f: sent.append(f)))
            continuous_drag(page, base, n, sent)
            in_page_drag(page, base, n, sent)
            context.close()
        for n in (10_000, 100_000):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            line(f"release to updated metrics, n = {n:,}", time_releases(page, f"{base}/neuron?n={n}"), 150)
            line(f"key step to updated metrics, n = {n:,}", time_key_steps(page, f"{base}/neuron?n={n}"), 150)
            page.context.close()
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        data_sizes(page, base)
        browser.close()


if __name__ == "__main__":
    main()
