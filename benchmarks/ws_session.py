"""A light Streamlit session for load benchmarks: it speaks the browser's websocket protocol
(protobuf BackMsg out, ForwardMsg in) and renders nothing.

The server cannot tell it from a browser: it opens a session, asks for a page, clicks a
button by its label and, like the browser, reruns a fragment on the interval the server's
`auto_rerun` message asks for. What it saves is the browser's own work (layout, Plotly),
which in a class happens on the students' machines, not on the server.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


class Session:
    def __init__(self, base_url: str, page: str, query: str = "", headers: dict | None = None):
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.url = f"ws://{parts.netloc}/_stcore/stream"
        self.page, self.query = page, query
        self.headers = headers or {}  # sent with the websocket's opening request (a cookie, a proxy's header)
        self.buttons: dict[str, str] = {}  # label -> widget id, from the elements the server sent
        self.sliders: dict[str, object] = {}  # widget id -> the slider's proto (label, min, max, step)
        self.elements: dict[str, str] = {}  # custom element (components.v2) id -> its name
        self.fragment_of: dict[str, str] = {}  # widget id -> the fragment it is drawn in (none: the page)
        self.exceptions: list[str] = []  # tracebacks the server sent (a user would have seen them)
        self.fragment: tuple[str, float] | None = None  # (fragment id, seconds) while auto-rerun is on
        self.reruns = 0  # runs of the page or a fragment that finished
        self.page_hash = ""  # the page's script hash, once the server has named it (the browser sends it back)
        self._finished = asyncio.Event()
        self._ws = None
        self._reader: asyncio.Task | None = None

    async def open(self) -> None:
        self._ws = await websockets.connect(
            self.url,
            subprotocols=["streamlit"],
            origin=self.origin,
            max_size=None,
            ping_interval=None,
            additional_headers=self.headers,
        )
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def run(self, *, click: str | None = None, values: dict | None = None, timeout: float = 120) -> None:
        """Rerun the page, optionally clicking a button or setting widgets, and wait until it finished.
        ``values`` maps a widget id to a slider's value (a number, or a select_slider's option label) or a
        custom element's state (a dict),
        as the browser sends them when a student releases a slider."""
        self._finished.clear()
        # A browser reruns only the fragment a moved widget is drawn in (it sends the fragment's id).
        fragments = {self.fragment_of.get(widget_id, "") for widget_id in values or {}}
        fragment_id = fragments.pop() if len(fragments) == 1 and click is None else ""
        await self._send(click=click, values=values, fragment_id=fragment_id, auto=False)
        await asyncio.wait_for(self._finished.wait(), timeout)

    async def poll(self, until: asyncio.Event, restart: str | None = None) -> None:
        """Ask for a rerun of the auto-rerun fragment on its interval, as the browser does
        (a `setInterval`: it does not wait for the previous rerun to finish), until told to stop.
        When the page stops polling (its run ended), click ``restart`` if given: a student starting
        another run keeps the load steady."""
        loop = asyncio.get_running_loop()
        while not until.is_set():
            if self.fragment is None:
                await asyncio.sleep(0.5)
                if self.fragment is None and restart is not None and not until.is_set():
                    # A browser sends every widget's value with a click; this client sends only the click,
                    # and after a run of fragment reruns the server no longer holds the page's other widgets
                    # (a callback reading them fails). So it reloads the page first, as a student might.
                    await self.run()
                    await self.run(click=restart)
                continue
            fragment_id, seconds = self.fragment
            tick = loop.time() + seconds
            while self.fragment == (fragment_id, seconds) and not until.is_set():
                await asyncio.sleep(max(0.0, tick - loop.time()))
                if self.fragment == (fragment_id, seconds):
                    await self._send(fragment_id=fragment_id)
                tick += seconds

    async def _send(
        self, *, click: str | None = None, fragment_id: str = "", values: dict | None = None, auto: bool = True
    ) -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string, state.page_name = self.query, self.page
        if self.page_hash:  # as the browser: without it, a rerun the server starts (st.rerun) opens the home page
            state.page_script_hash = self.page_hash
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, auto
        if click is not None:
            widget = state.widget_states.widgets.add()
            widget.id, widget.trigger_value = self.buttons[click], True
        for widget_id, value in (values or {}).items():
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            if isinstance(value, dict):
                widget.json_value = json.dumps(value)
            elif isinstance(value, str):  # a select_slider's option, as the browser shows it
                widget.string_array_value.data.append(value)
            else:
                widget.double_array_value.data.append(float(value))
        await self._ws.send(msg.SerializeToString())

    def seen(self, msg: ForwardMsg) -> None:
        """Called with every message from the server, before the session's own bookkeeping."""

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self.seen(msg)
                kind = msg.WhichOneof("type")
                if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    shown = element.WhichOneof("type")
                    if shown in ("slider", "bidi_component"):
                        self.fragment_of[getattr(element, shown).id] = msg.delta.fragment_id
                    if shown == "button":
                        self.buttons[element.button.label] = element.button.id
                    elif shown == "slider":
                        self.sliders[element.slider.id] = element.slider
                    elif shown == "bidi_component":
                        self.elements[element.bidi_component.id] = element.bidi_component.component_name
                    elif shown == "exception":
                        self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
                elif kind == "navigation" and msg.navigation.page_script_hash:
                    self.page_hash = msg.navigation.page_script_hash
                elif kind == "new_session" and not msg.metadata.run.fragment_ids:
                    self.fragment = None  # a whole-page run begins: the browser drops its timers
                elif kind == "auto_rerun":
                    self.fragment = (msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
                elif kind == "stop_auto_rerun":
                    if self.fragment is not None and self.fragment[0] in msg.stop_auto_rerun.fragment_ids:
                        self.fragment = None
                elif kind == "script_finished":
                    self.reruns += 1
                    self._finished.set()
        except websockets.ConnectionClosed:
            pass
