"""Process-wide settings of the server Streamlit runs in (applied once, from the app's first run):
no Nagle delay on its connections, few malloc heaps (serve.memory.limit_malloc_arenas), and
one torch thread.

Nagle's algorithm is left on for the app's connections: Streamlit binds its listening socket
itself with ``socket.socket(family=...)``, so the sockets it accepts report protocol 0, and
asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP. A rerun sends a few dozen
small websocket messages one after another; with Nagle on, all but the first wait for the
browser's delayed acknowledgement (40 ms on Linux, up to 200 ms on Windows) before they leave.
Measured with one session on a quiet server (benchmarks/page_reruns.py): a slider release on
`inside` (section devices) took 48 ms from release to the rerun's last message with Nagle, 19 ms without.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import sys

import streamlit as st

from serve.memory import limit_malloc_arenas

log = logging.getLogger("bn_lab")


def _no_delay(protocol) -> None:
    sock = protocol.transport.get_extra_info("socket") if getattr(protocol, "transport", None) else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the connection closed meanwhile
            pass


def no_delay_on_connect(protocol_class: type) -> None:
    """Make ``protocol_class`` (uvicorn's HTTP protocol: a websocket begins as an HTTP connection)
    set TCP_NODELAY on each new connection's socket, and on those of the connections already
    open (uvicorn keeps them all in one set), so that the ones accepted before this ran get it too."""
    if "_no_delay" in vars(protocol_class):  # applied already (a cleared cache runs this again)
        return
    made = protocol_class.connection_made

    def connection_made(self, transport) -> None:
        made(self, transport)
        for protocol in tuple(self.connections):
            _no_delay(protocol)

    connection_made.__wrapped__ = made
    protocol_class.connection_made = connection_made
    protocol_class._no_delay = True


@st.cache_resource
def few_malloc_heaps() -> None:
    """Once per server process, early: its memory stays close to its start after a class."""
    if not limit_malloc_arenas():
        log.info("malloc's heaps not limited (not glibc)")


def one_torch_thread() -> None:
    """At the start of every run of the app, before a lesson imports torch: torch computes with one thread
    here. The server's torch works on a few hundred numbers per call (the engine's BatchNorm layers, a
    finished run's model); with a second thread, OpenMP's workers spin after each call and a slider
    release cost more CPU than the page itself (bn-lab's running statistics: 99.6 ms of server CPU
    per release, 44.3 ms with one thread; benchmarks/page_reruns.py). Every run, not once: OpenMP keeps
    the thread count per thread, and Streamlit runs a session's script in threads of its own, so a run
    in a thread that was never told would sum in two threads, in another order, and a constant
    channel's rounding (bn-lab's ε section) would come out differently. Training runs in workers, which
    set their own threads (serve.worker)."""
    torch = sys.modules.get("torch")
    if torch is None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # read when torch loads its OpenMP runtime
    elif torch.get_num_threads() != 1:
        torch.set_num_threads(1)


@st.cache_resource
def tcp_no_delay() -> None:
    """Once per server process: no Nagle delay on the app's connections, whichever of uvicorn's
    HTTP protocols serves them (h11; httptools where it is installed)."""
    patched = 0
    for module, name in (("h11_impl", "H11Protocol"), ("httptools_impl", "HttpToolsProtocol")):
        try:
            protocol_class = getattr(importlib.import_module(f"uvicorn.protocols.http.{module}"), name)
        except (ImportError, AttributeError):
            continue
        no_delay_on_connect(protocol_class)
        patched += 1
    if not patched:  # another server under Streamlit: leave it as it is
        log.warning("no uvicorn HTTP protocol found: TCP_NODELAY not set")
