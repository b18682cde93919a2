"""A class presses Play on the `train` lesson (issue 19): runs are computed once, at full speed, and
played back in the browser.

Against a fresh `streamlit run` on this machine (two CPUs: two computations at a time), it prints:

1. 30 light sessions press Play on the default preset (Figure 1) at once: refused, queued, the time
   from the press to the first frame the player can draw (the first measures of both runs) and to the
   whole record, and how many computations the server made for them (one pair: the key is the same).
2. 30 sessions press Play each with a different seed (30 distinct pairs): the same figures. The sessions
   reach the server as a proxy would pass them on (X-Forwarded-For, BN_LAB_BEHIND_PROXY=1), one address
   each; `--one-address` sends them all from one address instead (a class behind a school's NAT).
3. Beside the load of 2., one Chromium page plays a record at 20 steps a second for 10 s: frames per
   second, the delivered pace against the chosen one, the share of time it stalled (held back by the
   computation) and the server reruns it asked for (target 0).
4. The compute time of one Figure 1 pair, at the page's measure interval and with every step measured.
5. The record store under 200 sessions each asking for a run of its own (in process): its bytes against
   its bound after every run.

The sessions are `ws_session.py`'s light clients: the browser's protocol, no rendering.

    python benchmarks/classroom_play.py [--sessions 30] [--one-address]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from ui.i18n import catalog  # noqa: E402

EN = catalog("en")
PLAY_SPEED = 20  # steps a second a student plays the record at
QUEUED = EN["train.queued"].split("{")[0]
REFUSED = [EN[k].split("{")[0][:40] for k in ("train.limit_session", "train.limit_client", "train.limit_queue")]


def p95(values):
    return sorted(values)[int(0.95 * (len(values) - 1))] if values else float("nan")


def player_of(msg: ForwardMsg) -> dict | None:
    """The run player's data in a message, if it carries some."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return None
    element = msg.delta.new_element
    if element.WhichOneof("type") != "bidi_component":
        return None
    data = json.loads(element.bidi_component.json or "null")
    return data if isinstance(data, dict) and "runs" in data else None


def make_student(base: str, query: str, address: str | None):
    from ws_session import Session

    class Student(Session):
        """A session that notes when its player first had something to draw and when the record was whole."""

        def __init__(self):
            super().__init__(base, "train", query, headers={"X-Forwarded-For": address} if address else None)
            self.pressed = self.first = self.whole = None
            self.key, self.queued, self.refused = None, False, False
            self.playable: list[tuple[float, int, int]] = []  # (when, steps the player may show, steps in all)

        def seen(self, msg: ForwardMsg) -> None:
            data = player_of(msg)
            now = time.monotonic()
            if data is not None and self.pressed is not None:
                self.key = data["key"]
                computed = [
                    data["total"] if r["state"] == "finished" else (r["steps"] or [0])[-1] for r in data["runs"]
                ]
                self.playable.append((now, min(computed), data["total"]))
                if self.first is None and all(run["steps"] for run in data["runs"]):
                    self.first = now
                if self.whole is None and all(run["state"] == "finished" for run in data["runs"]):
                    self.whole = now
            if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                if element.WhichOneof("type") == "alert":
                    body = element.alert.body
                    self.queued |= QUEUED in body
                    self.refused |= any(r in body for r in REFUSED)

    return Student()


async def press_together(
    base: str, queries: list[str], addresses: list[str | None], timeout: float, read: float = 0.0
) -> dict:
    students = [make_student(base, q, a) for q, a in zip(queries, addresses, strict=True)]
    for s in students:
        await s.open()
        await s.run()
    await asyncio.sleep(read)  # the students read the page before they press Play
    stop = asyncio.Event()
    polls = [asyncio.create_task(s.poll(stop)) for s in students]

    async def press(s):
        s.pressed = time.monotonic()
        await s.run(click=EN["train.play"])

    await asyncio.gather(*(press(s) for s in students))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(s.whole or s.refused for s in students):
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*polls, return_exceptions=True)
    for s in students:
        await s.close()
    first = [s.first - s.pressed for s in students if s.first]
    whole = [s.whole - s.pressed for s in students if s.whole]
    return {
        "refused": sum(s.refused for s in students),
        "queued": sum(s.queued for s in students),
        "no_frame": sum(1 for s in students if not s.first and not s.refused),
        "first_p50": statistics.median(first) if first else float("nan"),
        "first_p95": p95(first),
        "whole_p95": p95(whole),
        "whole_max": max(whole) if whole else float("nan"),
        "computations": len({s.key for s in students if s.key}),
        "exceptions": sum(len(s.exceptions) for s in students),
        "stalled": [stalled_share(s.playable, s.first) for s in students if s.first],
    }


def stalled_share(playable: list[tuple[float, int, int]], first: float | None, speed: float = PLAY_SPEED) -> float:
    """The share of its playing time a player at ``speed`` steps a second, started at the first frame,
    spends held back by the computation (what player.js does, replayed on the page's updates)."""
    if first is None or not playable:
        return float("nan")
    total, head, now, stalled, played = playable[-1][2], 0.0, first, 0.0, 0.0
    dt = 0.05
    while head < total and played < 3600:
        limit = max((p for t, p, _ in playable if t <= now), default=0)
        want = head + speed * dt
        if want > limit and limit < total:
            stalled += dt
        head = min(want, limit if limit < total else total)
        now, played = now + dt, played + dt
    return stalled / played if played else float("nan")


def report(title: str, r: dict) -> None:
    print(title)
    print(
        f"  refused {r['refused']} (target 0), saw the queue {r['queued']}, no frame {r['no_frame']}, "
        f"tracebacks {r['exceptions']}; distinct records {r['computations']}"
    )
    print(
        f"  first frame p50 {r['first_p50']:.2f} s, p95 {r['first_p95']:.2f} s; whole record p95 "
        f"{r['whole_p95']:.2f} s, last {r['whole_max']:.2f} s"
    )
    stalled = sorted(r["stalled"])
    if stalled:
        print(
            f"  a player at {PLAY_SPEED} steps/s from the first frame would be held back by the computation: "
            f"median {statistics.median(stalled):.1%}, p95 {p95(stalled):.1%}, worst {stalled[-1]:.1%} of its "
            "playing time (target < 10 %)"
        )


class Viewer:
    """One Chromium page on the `train` lesson, its record computed before the load starts, so that its
    playback can be measured while the class's computations go on."""

    def __init__(self, base: str, speed: int = 20):
        from conftest import CHROMIUM_ARGS, chromium_path
        from playwright.sync_api import sync_playwright
        from test_browser import reruns_of

        self.speed = speed
        self._p = sync_playwright().start()
        self.browser = self._p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(viewport={"width": 1440, "height": 900})
        self.reruns = reruns_of(self.page)  # the reruns this page asks the server for
        self.page.goto(f"{base}/train?lang=en&preset=custom&epochs=40&hidden=64&seed=999&speed={speed}")
        self.page.get_by_role("button", name=EN["train.play"]).click()
        self.page.get_by_role("tab", name=EN["train.tab_results"]).wait_for(timeout=600_000)  # computed: a record

    def play(self, seconds: float = 10.0) -> dict:
        page = self.page
        page.get_by_role("button", name=EN["player.reset"], exact=True).click()
        page.get_by_role("button", name=EN["player.play"], exact=True).click()
        page.evaluate("() => { const s = globalThis.__bnLabPlayer; s.frames.length = 0; s.stalled = 0; s.played = 0; }")
        start, asked = page.evaluate("() => [performance.now(), globalThis.__bnLabPlayer.last.head]"), len(self.reruns)
        page.wait_for_timeout(seconds * 1000)
        end = page.evaluate(
            "() => { const s = globalThis.__bnLabPlayer; return [performance.now(), s.last.head, s.frames.length,"
            " s.stalled, s.played]; }"
        )
        elapsed = (end[0] - start[0]) / 1000
        return {
            "fps": end[2] / elapsed,
            "pace": (end[1] - start[1]) / elapsed,
            "speed": self.speed,
            "stalled": end[3] / max(end[4], 1),
            "reruns": len(self.reruns) - asked,
        }

    def close(self) -> None:
        self.browser.close()
        self._p.stop()


def compute_times() -> None:
    import torch

    from bn_core.data import load
    from bn_core.train import PRESETS, train

    torch.set_num_threads(1)
    data, config = load("digits"), PRESETS["figure1"]
    train(config.twin(), data=data)  # warm
    for label, measure_at in (("the page's measure interval", None), ("every step measured", lambda step: True)):
        start = time.process_time()
        for c in (config, config.twin()):
            train(c, data=data, measure_at=measure_at)
        print(f"  Figure 1 pair, {label}: {time.process_time() - start:.1f} s of one core (target <= 5 s)")


def store_soak(sessions: int = 200, megabytes: int = 20) -> None:
    from bn_core.train import TrainConfig
    from serve.records import record_size
    from serve.runner import Runner
    from serve.store import BoundedStore

    bound = megabytes * 2**20
    store = BoundedStore(record_size, max_items=1_000, max_bytes=bound)
    runner = Runner(max_concurrent=2, idle_timeout=2.0, max_queue=sessions, records=store)
    peak = 0
    try:
        keys = []
        for i in range(sessions):
            keys.append(runner.submit(TrainConfig(epochs=1, hidden=16, seed=i), owner=f"s{i}", client=f"10.1.{i}.1"))
            peak = max(peak, store.bytes)
        while any((v := runner.view(k)) is not None and v.active for k in keys):
            peak = max(peak, store.bytes)
            time.sleep(0.05)
        peak = max(peak, store.bytes)
        print(
            f"  {sessions} sessions, a run each: {len(store)} records kept, {store.bytes / 2**20:.1f} MB; peak "
            f"{peak / 2**20:.1f} MB against the bound of {megabytes} MB (ratio {peak / bound:.2f}, target <= 1)"
        )
    finally:
        runner.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--one-address", action="store_true")
    parser.add_argument("--read", type=float, default=8.0, help="seconds between opening the page and Play")
    args = parser.parse_args()
    from conftest import streamlit_server

    env = {"BN_LAB_MAX_RUNS": "2", "BN_LAB_BEHIND_PROXY": "1"}
    with streamlit_server("benchmark-classroom-play.log", env=env) as base:
        same = [f"lang=en&s={i}" for i in range(args.sessions)]
        result = asyncio.run(
            press_together(base, same, [f"10.0.{i}.1" for i in range(args.sessions)], 300, read=args.read)
        )
        report(
            f"1. {args.sessions} sessions open the fresh server's page, read {args.read:g} s, press Play together",
            result,
        )
        viewer = Viewer(base)
        seeds = [f"lang=en&preset=custom&seed={100 + i}" for i in range(args.sessions)]  # 2 x 680 steps each
        addresses = ["10.9.9.9" if args.one_address else f"10.1.{i}.1" for i in range(args.sessions)]
        box: dict = {}
        load = threading.Thread(
            target=lambda: box.update(asyncio.run(press_together(base, seeds, addresses, 600))), daemon=True
        )
        load.start()
        time.sleep(2.0)
        played = viewer.play()
        viewer.close()
        load.join()
        report(f"2. {args.sessions} sessions press Play, each with a seed of its own (distinct pairs)", box)
        print("3. One Chromium page plays a record at 20 steps/s for 10 s beside that load")
        print(
            f"  {played['fps']:.0f} frames/s (target >= 30); pace {played['pace']:.2f} steps/s against "
            f"{played['speed']} (ratio {played['pace'] / played['speed']:.3f}, target within 5 %); stalled "
            f"{played['stalled']:.1%}; server reruns asked for while playing: {played['reruns']} (target 0)"
        )
    print("4. Compute time")
    compute_times()
    print("5. The record store")
    store_soak()


if __name__ == "__main__":
    main()
