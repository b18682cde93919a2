"""A computation lives as long as Streamlit keeps a session that waits for it: a connection that drops
without a close and comes back within the server's `server.disconnectedSessionTTL` finds its run
still computing; a session that never comes back frees its slots once Streamlit has dropped it.

Light websocket sessions (benchmarks/ws_session.py: the browser's protocol, no rendering) against
a real `streamlit run` whose TTL is shortened to keep the test short. Two slots: A computes a pair
of long runs, B's pair (other settings: another computation) waits in the queue, so B's page shows
when A's runs end.
"""

import asyncio
import concurrent.futures
import re
import sys
import time

import websockets
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.browser.conftest import ROOT, streamlit_server
from ui.i18n import catalog
from ui.session import GRACE_MARGIN

sys.path.insert(0, str(ROOT / "benchmarks"))
from ws_session import Session  # noqa: E402

TTL = 16  # seconds Streamlit keeps a disconnected session (120 by default)
DROP = 11  # longer than the 8 s heartbeat that used to end a run nobody polled, shorter than TTL
EN = catalog("en")
QUEUED = EN["train.queued"].split("{")[0]
# a pair of about 50 000 steps a run (the server's step cap lifted below): a minute or more of computing
QUERY = "lang=en&preset=custom&epochs=100&hidden=512&bs=2&seed={seed}"
STEP = re.compile(r"step ([\d,]+) of")


class Watcher(Session):
    """A session that knows its id, what its page last said about training (the progress bar's
    text and the alerts of the last finished run of the page or its fragment), and that can lose
    its connection abruptly."""

    def __init__(self, base_url: str, seed: int):
        super().__init__(base_url, "train", QUERY.format(seed=seed))
        self.ids: list[str] = []  # the session id given to each connection
        self.progress, self.alerts = "", []
        self._progress, self._alerts = "", []

    async def open(self, resume: str = "") -> None:
        # as the browser does: "streamlit", an XSRF token (unused here) and the session to resume
        protocols = ["streamlit", "none", resume] if resume else ["streamlit"]
        self._ws = await websockets.connect(
            self.url, subprotocols=protocols, origin=self.origin, max_size=None, ping_interval=None
        )
        self._reader = asyncio.create_task(self._read())

    async def drop(self) -> None:
        """The network goes: no close frame, the TCP connection is simply gone."""
        self._ws.transport.abort()
        await asyncio.gather(self._reader, return_exceptions=True)
        self.fragment = None  # the page's timers stop with it

    def seen(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.ids.append(msg.new_session.initialize.session_id)
            self._progress, self._alerts = "", []
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "progress":
                self._progress = element.progress.text
            elif element.WhichOneof("type") == "alert":
                self._alerts.append(element.alert.body)
        elif kind == "script_finished":
            self.progress, self.alerts = self._progress, self._alerts
            self._progress, self._alerts = "", []

    def step(self) -> int:
        """The step the page's counter of computed steps shows (-1: no counter)."""
        found = STEP.search(self.progress)
        return int(found.group(1).replace(",", "")) if found else -1

    def queued(self) -> bool:
        return any(QUEUED in alert for alert in self.alerts)


async def until(predicate, timeout: float) -> float:
    """Wait until ``predicate()``; return when it became true (time.monotonic)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)
    return time.monotonic()


async def scenario(base: str) -> dict:
    a, b = Watcher(base, seed=41), Watcher(base, seed=42)
    stop_polls = asyncio.Event()
    polls = []
    for s in (a, b):
        await s.open()
        await s.run()
        await s.run(click=EN["train.play"])
        polls.append(asyncio.create_task(s.poll(stop_polls)))
    await until(lambda: a.step() >= 3, 60)
    await until(b.queued, 30)

    # 1. A drops for DROP seconds and comes back to the same session
    before = a.step()
    await a.drop()
    polls[0].cancel()
    await asyncio.sleep(DROP)
    assert b.queued(), "A's runs ended while A's session was only disconnected"
    await a.open(resume=a.ids[0])
    await a.run()
    polls[0] = asyncio.create_task(a.poll(stop_polls))
    await until(lambda: a.step() > before + 100, 30)  # it computed on meanwhile
    back = {"resumed": a.ids[-1] == a.ids[0], "steps": (before, a.step()), "b_queued": b.queued()}

    # 2. A goes for good: its runs end once Streamlit has dropped its session, and B starts
    await a.drop()
    polls[0].cancel()
    gone = time.monotonic()
    started = await until(lambda: not b.queued() and b.step() >= 0, TTL + GRACE_MARGIN + 30)
    stop_polls.set()
    await asyncio.gather(*polls, return_exceptions=True)
    await b.run(click=EN["train.stop"])
    await b.close()
    return {**back, "freed_after": started - gone}


def test_a_run_survives_a_dropped_connection_and_ends_with_its_session():
    env = {
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(TTL),
        "BN_LAB_MAX_RUNS": "2",
        "BN_LAB_RUNS_PER_WORKER": "1",
        "BN_LAB_MAX_RUN_STEPS": "100000",
    }
    with streamlit_server("streamlit-session-drop.log", env=env) as base:
        # in a thread of its own: once a test has opened the shared browser, Playwright's event loop runs in this one
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            result = pool.submit(asyncio.run, scenario(base)).result()
    print(result)  # -s shows the steps trained across the drop and when the slots were freed
    assert result["resumed"], "the reconnection got a new session"
    assert result["b_queued"]
    # after a drop of DROP s (the session kept), the run went on: the slots freed only after the TTL
    assert TTL - 1 <= result["freed_after"] <= TTL + GRACE_MARGIN + 15, result
