"""A class on one server (issue 14): 30 sessions move sliders on the interactive lessons
(neuron, bn-lab, inside) at a student's pace while 4 runs train, then leave.

Prints, against the targets:
- slider to chart: for each slider release of the 30 light sessions, the time from sending the
  new value to the end of the page's rerun (everything the server sends for it has arrived);
  and, in a real Chromium beside them, the `neuron` lesson's release to updated metrics
  (target p95 under 300 ms);
- errors: tracebacks the server sent, sessions whose rerun never finished (target 0);
- the server's memory (RSS) after a warm-up visit of every page, at its peak, and after the
  sessions left and Streamlit dropped them (target: back within 10 % of the start).

The sessions are `ws_session.py`'s light clients (the browser's protocol, no rendering: that
happens on the students' machines, not on the server's two cores). Each one waits for its rerun
to finish before it moves again, as a slider released about once a second does.

Two classes come one after the other: bounded caches (st.cache_data) fill during the first, so the
second shows whether anything grows without bound.

    python benchmarks/classroom_load.py [--sessions 30] [--training 4] [--seconds 60] [--rounds 2]
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ui.i18n import catalog  # noqa: E402

# The interactive lessons a class moves sliders on, each with a link whose sliders do real work.
LESSONS = [
    ("neuron", "lang={lang}&n=10000"),
    ("bn-lab", "lang={lang}&section=stats"),
    ("bn-lab", "lang={lang}&section=running"),
    ("inside", "lang={lang}&section=devices"),
    ("inside", "lang={lang}&section=place"),
    ("inside", "lang={lang}&section=noise"),
]
LANGS = ("en", "ru", "zh")
TRAIN = "lang=en&preset=custom&norm=batch&speed=500&epochs=50&hidden=256&bs=16&seed={seed}"
TTL = 10  # seconds Streamlit keeps a dropped session here (server.disconnectedSessionTTL, 120 by default)


def p95(values):
    return sorted(values)[int(0.95 * (len(values) - 1))]


def summary(ms, target=None):
    if not ms:
        return "no samples"
    text = f"p50 {statistics.median(ms):.0f} ms, p95 {p95(ms):.0f} ms, max {max(ms):.0f} ms ({len(ms)} samples)"
    return text + (f" (target p95 < {target} ms, ratio {p95(ms) / target:.2f})" if target else "")


def server_pid(base: str) -> int:
    """The `streamlit run` process serving ``base`` (found by its --server.port argument)."""
    port = base.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(args) and port.encode() in args:
                return int(entry.name)
    raise SystemExit(f"no streamlit process on port {port}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def move(session, rng: random.Random) -> dict:
    """A new value for one of the page's sliders (or the neuron's weights), as a release sends it."""
    live = [k for k, v in session.elements.items() if v.endswith("neuron_live")]  # pages have other elements too
    if live:
        element = live[0]
        session.seq = getattr(session, "seq", 0) + 1
        weights = [round(rng.uniform(-2, 2), 2), round(rng.uniform(-2, 2), 2), round(rng.uniform(-2, 2), 1)]
        return {element: {"weights": {"w": weights, "seq": session.seq}}}
    widget_id, slider = rng.choice(list(session.sliders.items()))
    if slider.options:  # a select_slider
        return {widget_id: rng.choice(list(slider.options))}
    steps = int(round((slider.max - slider.min) / slider.step))
    return {widget_id: slider.min + slider.step * rng.randint(0, steps)}


class Class:
    """Training sessions that keep 4 runs busy, and slider sessions that each move a slider,
    wait for the page, think for a moment, and move again, on an event loop of their own."""

    def __init__(self, base: str, sessions: int, training: int, seconds: float, make=None, think: float = 1.0):
        """``make(base, page, query, index)``: a light session (default: ws_session.Session)."""
        from ws_session import Session

        make = make or (lambda base, page, query, index: Session(base, page, query))
        self.play = catalog("en")["train.play"]
        self.trainers = [make(base, "train", TRAIN.format(seed=i), i) for i in range(training)]
        self.students = []
        for i in range(sessions):
            page, query = LESSONS[i % len(LESSONS)]
            self.students.append(make(base, page, query.format(lang=LANGS[i % len(LANGS)]), training + i))
        self.seconds, self.think = seconds, think
        self.times: list[float] = []
        self.by_page: dict[str, list[float]] = {}  # the same times per lesson link (without the language)
        self.timeouts = 0
        self.cpu = (float("nan"), float("nan"))  # (server, this process): CPU seconds per second of the class
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)

    async def student(self, session, index: int, stop: asyncio.Event) -> None:
        rng = random.Random(index)
        await asyncio.sleep(rng.uniform(0, 1))
        while not stop.is_set():
            values = move(session, rng)
            started = time.perf_counter()
            try:
                await session.run(values=values, timeout=30)
                self.times.append((time.perf_counter() - started) * 1000)
                where = f"{session.page}?{session.query.split('&', 1)[1] if '&' in session.query else ''}"
                self.by_page.setdefault(where, []).append(self.times[-1])
            except TimeoutError:
                self.timeouts += 1
            await asyncio.sleep(rng.uniform(0.5, 1.5) * self.think)  # a student looks at what moved

    async def main(self) -> None:
        stop = asyncio.Event()
        for session in self.trainers:
            await session.open()
            await session.run()
            await session.run(click=self.play)
        for session in self.students:  # students arrive one after another
            await session.open()
            await session.run()
        self.ready.set()
        tasks = [asyncio.create_task(s.poll(stop, restart=self.play)) for s in self.trainers]
        tasks += [asyncio.create_task(self.student(s, i, stop)) for i, s in enumerate(self.students)]
        await asyncio.sleep(self.seconds)
        stop.set()
        await asyncio.gather(*tasks)
        await asyncio.gather(*(s.close() for s in self.trainers + self.students))

    def exceptions(self) -> list[str]:
        return [e for s in self.trainers + self.students for e in s.exceptions]


def warm_up(base: str) -> None:
    """Every page once, in every language, and one short run to its end, so that the start's memory
    counts what imports and lazy initialization take (the server's first finished run rebuilds a torch
    model: about 40 MB, once)."""
    from ws_session import Session

    async def visit():
        for page, query in LESSONS + [("train", "lang=en")]:
            for lang in LANGS:
                session = Session(base, page, query.format(lang=lang))
                await session.open()
                await session.run()
                await session.close()
        session = Session(base, "train", "lang=en&preset=custom&speed=500&epochs=1&hidden=16")
        await session.open()
        await session.run()
        await session.run(click=catalog("en")["train.play"])
        finished = asyncio.Event()
        polling = asyncio.create_task(session.poll(finished))
        while session.fragment is None:  # it polls while the run trains...
            await asyncio.sleep(0.2)
        while session.fragment is not None:  # ...and stops when it has finished
            await asyncio.sleep(0.2)
        finished.set()
        await polling
        await session.close()

    asyncio.run(visit())


def settle(pid: int, seconds: float) -> float:
    """RSS after waiting for dropped sessions to be closed and idle workers to end."""
    time.sleep(seconds)
    return rss_mb(pid)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--training", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60, help="how long the class moves sliders")
    parser.add_argument("--rounds", type=int, default=2, help="classes one after another (caches fill in the first)")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a student waits between releases")
    args = parser.parse_args()
    from conftest import CHROMIUM_ARGS, chromium_path, streamlit_server
    from neuron_live import time_releases
    from playwright.sync_api import sync_playwright

    env = {
        "BN_LAB_MAX_RUNS": str(args.training),
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL),
        "MALLOC_ARENA_MAX": "2",  # as the image and scripts/run.sh start the server
    }
    os.environ.update(env)
    with streamlit_server("streamlit-classroom.log", env) as base:
        pid = server_pid(base)
        warm_up(base)
        memory = [settle(pid, TTL + 5)]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            probe = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            time_releases(probe, f"{base}/neuron?n=100000", drags=3)  # the probe's own warm-up
            for round_ in range(1, args.rounds + 1):
                load = Class(base, args.sessions, args.training, args.seconds, think=args.think)
                load.thread.start()
                if not load.ready.wait(300):
                    raise SystemExit("the class did not arrive within 300 s")
                peak, browser_ms, lost = rss_mb(pid), [], []
                cpu = (time.monotonic(), cpu_seconds(pid), cpu_seconds(os.getpid()))
                deadline = time.monotonic() + args.seconds - 10
                while time.monotonic() < deadline:
                    browser_ms += time_releases(probe, f"{base}/neuron?n=100000", drags=10, lost=lost)
                    peak = max(peak, rss_mb(pid))
                load.thread.join(args.seconds + 120)
                wall = time.monotonic() - cpu[0]
                load.cpu = ((cpu_seconds(pid) - cpu[1]) / wall, (cpu_seconds(os.getpid()) - cpu[2]) / wall)
                peak = max(peak, rss_mb(pid))
                memory.append(settle(pid, TTL + 70))  # idle workers end after a minute
                report(round_, args, load, browser_ms, lost, memory, peak)
            browser.close()


def report(round_, args, load, browser_ms, lost, memory, peak):
    exceptions = load.exceptions()
    print(f"class {round_}: {args.sessions} sessions moving sliders for {args.seconds:.0f} s while "
          f"{args.training} runs train")  # fmt: skip
    print(f"  light sessions (a release every {args.think:g} s or so after the last rerun ended), value sent to "
          f"rerun finished: {summary(load.times, 300)}; {len(load.times) / args.seconds:.1f} reruns/s")  # fmt: skip
    for where, times in sorted(load.by_page.items()):
        print(f"    {where:24s} p50 {statistics.median(times):5.0f} ms, p95 {p95(times):5.0f} ms ({len(times)} moves)")
    print(f"  CPU while the class moved: the server {load.cpu[0]:.0%} of one core (its Python runs on one at a time), "
          f"these light sessions {load.cpu[1]:.0%}")  # fmt: skip
    print(f"  Chromium, neuron release to updated metrics: {summary(browser_ms, 300)}")
    print(f"  errors: {len(exceptions)} tracebacks, {load.timeouts} reruns not finished within 30 s, "
          f"{len(lost)} browser releases without new metrics within 10 s (target 0)")  # fmt: skip
    for text in sorted(set(exceptions))[:5]:
        print(f"    {text}")
    before, after = memory[-2], memory[-1]
    print(f"  server memory: {before:.0f} MB before the class, {peak:.0f} MB at the peak, {after:.0f} MB after "
          f"the sessions left ({(after / before - 1) * 100:+.1f} %, target within 10 %; "
          f"{(after / memory[0] - 1) * 100:+.1f} % since the warm server's start)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
