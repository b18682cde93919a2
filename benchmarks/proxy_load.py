"""Light sessions through two replicas behind HAProxy (issue 14): each session loads the page
(HAProxy gives it the affinity cookie), then connects its WebSocket several times with that
cookie, as a browser does on reloads and reconnections, and reruns the page on each. Prints the
errors, the share of sessions that HAProxy kept on one replica (from its log), how the sessions
spread over the replicas, page-run times, and the replicas' memory.

The sessions are `ws_session.py`'s light clients (the browser's protocol, no rendering) with
the cookie a browser would send; the servers and the proxy are the tests' (tests/deploy/servers.py),
on loopback, with a config rendered from deploy/haproxy's template.

    python benchmarks/proxy_load.py --sessions 30 --reconnects 3
    python benchmarks/proxy_load.py --sessions 30 --lessons 60   # the classroom load through the proxy
"""

import argparse
import asyncio
import collections
import re
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ws_session import Session  # noqa: E402

from tests.deploy.servers import cluster  # noqa: E402
from tests.deploy.test_proxy import served  # noqa: E402


class ProxiedSession(Session):
    """A light session that sends the affinity cookie, and a marker in its WebSocket's URL that
    HAProxy's log shows (Streamlit ignores the query string of /_stcore/stream)."""

    def __init__(self, base_url: str, page: str, query: str, cookie: str, marker: str):
        super().__init__(base_url, page, query, headers={"Cookie": cookie} if cookie else {})
        self.url += f"?{marker}"
        self.cookie = cookie


def first_load(url: str) -> str:
    """GET the page as a browser's first visit does; return the cookie HAProxy set."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.headers["Set-Cookie"].split(";")[0]


async def student(
    proxy: str, i: int, reconnects: int, page: str, without_cookie: bool, times: list, errors: list
) -> None:
    marker = f"s={i}"
    await asyncio.sleep(i * 0.1)  # students arrive over a few seconds
    try:
        cookie = await asyncio.to_thread(first_load, f"{proxy}/{page}?lang=en&{marker}")
        cookie = "" if without_cookie else cookie
        for _ in range(reconnects):
            session = ProxiedSession(proxy, page, "lang=en", cookie, marker)
            await session.open()
            try:
                for _ in range(2):  # the page's first run, and a rerun
                    begun = time.perf_counter()
                    await session.run(timeout=60)
                    times.append((time.perf_counter() - begun) * 1000)
            finally:
                await session.close()
    except Exception as err:  # noqa: BLE001 - counted and printed: the benchmark's job is to report them
        errors.append(f"session {i}: {err!r}")


def memory_mb(pid: int) -> float:
    """Proportional set size (shared pages split between their users) of a process and its
    descendants: what a container's memory accounting comes close to."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += int(next(line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--reconnects", type=int, default=3, help="WebSocket connections per session")
    parser.add_argument("--page", default="neuron")
    parser.add_argument(
        "--without-cookie", action="store_true", help="the control: WebSockets without the cookie (no affinity)"
    )
    parser.add_argument(
        "--lessons",
        type=float,
        metavar="SECONDS",
        help="instead: the classroom load (classroom_load.py: sliders on the interactive lessons while 4 runs "
        "train) through the proxy for this long",
    )
    args = parser.parse_args()
    if args.lessons:
        return lessons_through_proxy(args.sessions, args.lessons)

    with cluster(2, name="load") as (proxy, _, log, pids):
        before = {name: memory_mb(pid) for name, pid in pids.items()}
        start = len(served(log))
        times, errors = [], []

        async def everyone():
            plain = args.without_cookie
            await asyncio.gather(
                *(student(proxy, i, args.reconnects, args.page, plain, times, errors) for i in range(args.sessions))
            )

        begun = time.perf_counter()
        asyncio.run(everyone())
        elapsed = time.perf_counter() - begun
        after = {name: memory_mb(pid) for name, pid in pids.items()}
        time.sleep(1)  # HAProxy logs a WebSocket when it closes
        requests = served(log)[start:]

    replicas = collections.defaultdict(set)  # session marker -> replicas that served it
    for replica, _, _, path in requests:
        if marker := re.search(r"[?&]s=(\d+)(&|$)", path):  # (not the "s=" of "bs=16")
            replicas[marker.group(1)].add(replica)
    pinned = sum(len(seen) == 1 for seen in replicas.values())
    spread = collections.Counter(next(iter(seen)) for seen in replicas.values() if len(seen) == 1)
    control = " (control: WebSockets without the cookie)" if args.without_cookie else ""
    print(f"{args.sessions} sessions x {args.reconnects} connections, HAProxy, 2 replicas{control}: {elapsed:.1f} s")
    print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:10]))
    print(f"sessions pinned to one replica: {pinned} of {args.sessions} ({pinned / args.sessions:.0%})")
    print(f"  sessions per replica: {dict(sorted(spread.items()))}")
    if times:
        p95 = sorted(times)[int(0.95 * (len(times) - 1))]
        print(f"page runs: {len(times)}, p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms")
    for name in pids:
        print(f"  {name}: memory (PSS, server and children) {before[name]:.0f} MB before, {after[name]:.0f} MB after")


def lessons_through_proxy(sessions: int, seconds: float) -> None:
    """classroom_load's class through two replicas (2 runs each at most): every session gets its cookie
    from a first page load, as a browser does, and the proxy's log shows which replica served it."""
    from classroom_load import Class, summary

    def make(proxy, page, query, index):
        marker = f"s={index}"
        return ProxiedSession(proxy, page, query, first_load(f"{proxy}/{page}?{query}&{marker}"), marker)

    with cluster(2, name="lessons", env={"BN_LAB_MAX_RUNS": "2"}) as (proxy, _, log, pids):
        start = len(served(log))
        load = Class(proxy, sessions, 4, seconds, make)
        load.thread.start()
        load.thread.join(seconds + 600)
        time.sleep(1)  # HAProxy logs a WebSocket when it closes
        requests = served(log)[start:]
    replicas = collections.defaultdict(set)
    for replica, _, _, path in requests:
        if marker := re.search(r"[?&]s=(\d+)(&|$)", path):  # (not the "s=" of "bs=16")
            replicas[marker.group(1)].add(replica)
    pinned = sum(len(seen) == 1 for seen in replicas.values())
    spread = collections.Counter(next(iter(seen)) for seen in replicas.values() if len(seen) == 1)
    everyone = sessions + 4
    print(f"{sessions} sessions moving sliders for {seconds:.0f} s while 4 runs train, HAProxy, 2 replicas")
    print(f"  value sent to rerun finished: {summary(load.times, 300)}")
    print(f"  errors: {len(load.exceptions())} tracebacks, {load.timeouts} reruns not finished within 30 s")
    for text in sorted(set(load.exceptions()))[:5]:
        print(f"    {text}")
    split = sum(len(seen) > 1 for seen in replicas.values())
    print(f"  sessions pinned to one replica: {pinned} of {everyone} ({pinned / everyone:.0%}); per replica: "
          f"{dict(sorted(spread.items()))}; on more than one replica: {split}; "
          f"not in HAProxy's log: {everyone - len(replicas)}")  # fmt: skip


if __name__ == "__main__":
    main()
