"""Processes for the deployment tests and benchmarks/proxy_load.py: `streamlit run` from any code
directory (behind a command prefix if asked), and HAProxy in front of several of them, on loopback."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

from tests.browser.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"  # Debian's, in sbin: often not on a user's PATH
sys.path.insert(0, str(ROOT / "deploy" / "haproxy"))
from render import render  # noqa: E402  (deploy/haproxy/render.py: the same template as deploy/)


def wait_until_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} ended with {proc.returncode} before answering {url}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def log_file(name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    return open(ARTIFACTS / name, "w")  # noqa: SIM115 - closed by the caller's process context


@contextlib.contextmanager
def stopping(proc: subprocess.Popen):
    """End the process (and only it) when the block ends."""
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def streamlit(code: Path = ROOT, *, log: str, env: dict[str, str] | None = None, user: list[str] | None = None):
    """`streamlit run app.py` in ``code`` on a free loopback port (``user``: a command prefix that runs
    it elsewhere, such as test_read_only's mount namespace); yields (base URL, process)."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1"]
    command += ["--server.port", str(port), "--server.headless", "true"]
    with log_file(log) as out:
        proc = subprocess.Popen(
            (user or []) + command, cwd=code, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        with stopping(proc):
            base = f"http://127.0.0.1:{port}"
            wait_until_healthy(f"{base}/_stcore/health", proc)
            yield base, proc


class Cluster(NamedTuple):
    proxy: str  # HAProxy's URL
    backends: dict[str, str]  # the replicas' own URLs by HAProxy's server name (app1, app2, ...)
    log: Path  # HAProxy's log
    pids: dict[str, int]  # the replicas' server processes


@contextlib.contextmanager
def cluster(replicas: int = 2, *, name: str = "proxy", env: dict[str, str] | None = None):
    """``replicas`` servers behind HAProxy on loopback, with a config rendered from the template in
    deploy/haproxy. Yields a Cluster."""
    assert os.access(HAPROXY, os.X_OK), "haproxy is missing: scripts/install.sh --dev installs Debian's"
    with contextlib.ExitStack() as stack:
        backends, pids = {}, {}
        for i in range(1, replicas + 1):
            base, proc = stack.enter_context(streamlit(log=f"streamlit-{name}-app{i}.log", env=env))
            backends[f"app{i}"], pids[f"app{i}"] = base, proc.pid
        port = free_port()
        servers = [f"server {n} {url.removeprefix('http://')} check" for n, url in backends.items()]
        hosts, config = ARTIFACTS / f"haproxy-{name}-hosts.txt", ARTIFACTS / f"haproxy-{name}.cfg"
        hosts.write_text("127.0.0.1\nlocalhost\n")
        config.write_text(render(bind=f"127.0.0.1:{port}", hosts_file=str(hosts), servers=servers))
        keyed = {**os.environ, "BN_LAB_COOKIE_KEY": secrets.token_hex(16)}  # as docker-compose.yml asks for
        check = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True, env=keyed)
        assert check.returncode == 0, check.stdout + check.stderr
        log = ARTIFACTS / f"haproxy-{name}.log"
        out = stack.enter_context(log_file(log.name))
        # -db: in the foreground, logging to its stdout (the config's "log stdout")
        proc = stack.enter_context(
            stopping(subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=out, env=keyed))
        )
        proxy = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{proxy}/_stcore/health", proc)
        yield Cluster(proxy, backends, log, pids)
