"""ui.server: the app's connections send small messages without Nagle's delay.

The server here is uvicorn's own HTTP protocol on a listening socket made as Streamlit makes
its own (``socket.socket(family=...)``, protocol 0), so the test sees what a classroom's
connections see: without the patch asyncio leaves TCP_NODELAY off on the accepted sockets."""

import asyncio
import concurrent.futures
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from ui.server import no_delay_on_connect

ROOT = Path(__file__).resolve().parents[2]


async def _app(scope, receive, send):  # never called: the test only connects
    raise AssertionError(scope)


def server_side_no_delay(connections: int, patch_after: int | None) -> list[int]:
    """TCP_NODELAY on the server side of ``connections`` connections made one after another,
    with the patch applied after the first ``patch_after`` of them (None: never)."""

    class Protocol(H11Protocol):  # a class of its own, so that the patch stays in this test...
        # ...and uvicorn's own connection_made, also where an app test has patched H11Protocol already
        connection_made = getattr(H11Protocol.connection_made, "__wrapped__", H11Protocol.connection_made)

    async def main() -> list[int]:
        config = Config(app=_app, log_level="error")
        config.load()
        state = ServerState()
        listening = socket.socket(family=socket.AF_INET)  # as Streamlit binds it: protocol 0
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        server = await asyncio.get_running_loop().create_server(lambda: Protocol(config, state, {}), sock=listening)
        clients = []
        for i in range(connections):
            if i == patch_after:
                no_delay_on_connect(Protocol)
                no_delay_on_connect(Protocol)  # a second call (a cleared cache) wraps nothing twice
            clients.append(await asyncio.open_connection(*listening.getsockname()))
            await asyncio.sleep(0.05)
        flags = [
            p.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            for p in state.connections
        ]
        for _, writer in clients:
            writer.close()
        server.close()
        await server.wait_closed()
        return flags

    # in a thread of its own: a browser test before it in this pytest worker may have left its event loop running
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def test_accepted_sockets_keep_nagle_without_the_patch():
    # The reason for the patch: if this fails, asyncio or Streamlit set TCP_NODELAY themselves now.
    assert server_side_no_delay(2, patch_after=None) == [0, 0]


def test_every_connection_gets_no_delay_with_the_patch():
    assert server_side_no_delay(3, patch_after=0) == [1, 1, 1]


def test_connections_open_before_the_patch_get_it_with_the_next_one():
    # The server's first visitor connects before the app's first run applies the patch.
    assert server_side_no_delay(2, patch_after=1) == [1, 1]


@pytest.mark.slow
def test_the_servers_torch_computes_with_one_thread():
    # a fresh process, as the server is: the app's first run comes before any lesson imports torch
    script = (
        "import os; os.environ.pop('OMP_NUM_THREADS', None)\n"
        "from ui.server import one_torch_thread\n"
        "one_torch_thread()\n"
        "import torch\n"
        "print(torch.get_num_threads())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert out.stdout.split()[-1] == "1"
