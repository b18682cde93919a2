"""What one slider release costs the server, page by page (issue 14: a class of 30 moves
sliders at once, and one server process runs their reruns one at a time under Python's GIL).

One light session at a time (no contention) releases random sliders on each interactive
lesson of the classroom benchmark, in English, Russian and Chinese, and prints per page:
- round trip: from sending the new value to the rerun's last message (what a student waits
  for on a quiet server);
- the server's CPU time per release (all its threads: the script run and the event loop that sends
  the messages), steadier than the round trip on a busy machine;
- messages and bytes the server sent for the rerun (each message costs the server's event loop
  a few tenths of a millisecond, and that loop is shared by every session).

The sum over a class is the load: at 30 students releasing a slider about once a second,
the server's CPU time per release must stay well under 1000 / 30 = 33 ms for one process to keep up.

    python benchmarks/page_reruns.py [--releases 40]
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from classroom_load import LANGS, LESSONS, cpu_seconds, move, p95, server_pid  # noqa: E402
from ws_session import Session  # noqa: E402

LOG = "streamlit-page-reruns.log"


class CountingSession(Session):
    """A light session that also counts the messages it receives and their bytes."""

    received = messages = 0

    def seen(self, msg) -> None:
        self.received += msg.ByteSize()
        self.messages += 1


async def releases(
    base: str, page: str, query: str, count: int, seed: int, pid: int
) -> tuple[list[float], list[tuple[int, int]], float]:
    session = CountingSession(base, page, query)
    await session.open()
    await session.run()
    await session.run()  # the first runs fill caches and import lazily: not what a class waits for
    rng = random.Random(seed)
    times, sizes = [], []
    cpu = cpu_seconds(pid)
    for _ in range(count):
        values = move(session, rng)
        session.received = session.messages = 0
        started = time.perf_counter()
        await session.run(values=values, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        sizes.append((session.messages, session.received))
    cpu = cpu_seconds(pid) - cpu
    await session.close()
    return times, sizes, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=40, help="slider releases per page and language")
    parser.add_argument("--only", default="", help="only the pages whose link contains this text")
    args = parser.parse_args()
    from conftest import streamlit_server

    total, total_cpu = [], 0.0
    with streamlit_server(LOG) as base:
        pid = server_pid(base)
        for page, query in LESSONS:
            if args.only not in f"{page}?{query}":
                continue
            times, sizes, cpu = [], [], 0.0
            for i, lang in enumerate(LANGS):
                t, s, c = asyncio.run(releases(base, page, query.format(lang=lang), args.releases, i, pid))
                times += t
                sizes += s
                cpu += c
            total += times
            total_cpu += cpu
            where = f"{page}?{query.format(lang='*')}"
            print(
                f"{where:34s} round trip p50 {statistics.median(times):5.1f} ms, p95 {p95(times):5.1f} ms; "
                f"server CPU {cpu * 1000 / len(times):5.1f} ms; "
                f"{statistics.median(m for m, _ in sizes):3.0f} messages, "
                f"{statistics.median(b for _, b in sizes) / 1024:6.1f} KB per rerun",
                flush=True,
            )
    mean, cpu = statistics.fmean(total), total_cpu * 1000 / len(total)
    print(
        f"all pages: mean round trip {mean:.1f} ms, p95 {p95(total):.1f} ms, server CPU {cpu:.1f} ms per release; "
        f"one process keeps up with at most {1000 / cpu:.0f} releases/s (30 students at one release a second "
        f"each: ratio {30 * cpu / 1000:.2f})"
    )


if __name__ == "__main__":
    main()
