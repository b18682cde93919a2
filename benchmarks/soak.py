"""A soak (issue 14): 200 sessions connect and leave over 10 minutes, and the server must not grow.

Sessions arrive evenly spread over the time; each opens an interactive lesson (neuron, bn-lab or
inside, in one of the three languages), moves its sliders for about half a minute and leaves:
half close their connection, half drop it without a word (as a phone going into a tunnel does).
Every few seconds the script counts the server's threads, child processes, open file
descriptors and resident memory, and at the end prints the first and last counts (after
Streamlit dropped the last sessions) and the largest in between (target: no growth).

    python benchmarks/soak.py [--sessions 200] [--minutes 10]
"""

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from classroom_load import LANGS, LESSONS, TTL, move, rss_mb, server_pid, warm_up  # noqa: E402

STAY = 30.0  # seconds a session moves sliders before it leaves
SAMPLE_EVERY = 5.0


def counts(pid: int) -> dict[str, float]:
    children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and parent_of(p) == pid]
    return {
        "threads": len(list(Path(f"/proc/{pid}/task").iterdir())),
        "processes": len(children),
        "fds": len(list(Path(f"/proc/{pid}/fd").iterdir())),
        "rss_mb": rss_mb(pid),
    }


def parent_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


async def visit(base: str, index: int, errors: list[str]) -> None:
    from ws_session import Session

    rng = random.Random(index)
    page, query = LESSONS[index % len(LESSONS)]
    session = Session(base, page, query.format(lang=LANGS[index % len(LANGS)]))
    await session.open()
    try:
        await session.run(timeout=60)
        left = time.monotonic() + STAY
        while time.monotonic() < left:
            await session.run(values=move(session, rng), timeout=60)
            await asyncio.sleep(rng.uniform(0.5, 2.0))
    except TimeoutError:
        errors.append(f"session {index}: a rerun did not finish within 60 s")
    errors.extend(session.exceptions)
    if index % 2:
        await session.close()
    else:  # gone without a close frame
        session._ws.transport.abort()
        session._reader.cancel()


async def soak(base: str, pid: int, sessions: int, seconds: float, samples: list) -> list[str]:
    errors: list[str] = []
    started = time.monotonic()

    async def sampler(stop: asyncio.Event):
        while not stop.is_set():
            samples.append((time.monotonic() - started, counts(pid)))
            await asyncio.sleep(SAMPLE_EVERY)

    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler(stop))
    visits = []
    for i in range(sessions):
        await asyncio.sleep(max(0.0, started + i * seconds / sessions - time.monotonic()))
        visits.append(asyncio.create_task(visit(base, i, errors)))
    await asyncio.gather(*visits)
    stop.set()
    await sampling
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    from conftest import streamlit_server

    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL)}
    os.environ.update(env)
    samples: list = []
    with streamlit_server("streamlit-soak.log", env) as base:
        pid = server_pid(base)
        warm_up(base)
        time.sleep(TTL + 5)
        first = counts(pid)
        errors = asyncio.run(soak(base, pid, args.sessions, args.minutes * 60, samples))
        time.sleep(TTL + 10)  # Streamlit closes the dropped sessions
        last = counts(pid)

    print(f"{args.sessions} sessions over {args.minutes:g} minutes, each about {STAY:.0f} s on an interactive lesson")
    print(f"  errors: {len(errors)} (target 0)")
    for text in sorted(set(errors))[:5]:
        print(f"    {text}")
    print(f"  {'':10} {'start':>8} {'largest':>8} {'end':>8}  (processes: the server's children, training workers)")
    for name in first:
        largest = max(s[name] for _, s in samples)
        change = last[name] - first[name]
        print(f"  {name:10} {first[name]:8.0f} {largest:8.0f} {last[name]:8.0f}  end - start {change:+.0f}")
    halves = len(samples) // 2
    if halves:
        for name in ("threads", "fds", "rss_mb"):
            a = sum(s[name] for _, s in samples[:halves]) / halves
            b = sum(s[name] for _, s in samples[halves:]) / (len(samples) - halves)
            print(f"  {name}: mean over the first half of the soak {a:.0f}, second half {b:.0f}")


if __name__ == "__main__":
    main()
