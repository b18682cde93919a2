"""The one run client every lesson uses: the server's Runner (serve.runner), the data sets pages
read, the page's client address for the runner's limits, and the texts for a run's states.

A lesson asks for the runs of its settings (``request``); the runner computes each configuration
once for the whole server and keeps the record, and the lesson plays the records back in the
browser (ui.player). Nothing a student watches holds a worker.
"""

from __future__ import annotations

import atexit
import os

import streamlit as st

from bn_core import data as digit_data
from serve.limits import LimitReached
from serve.records import RunView
from serve.runner import Runner
from ui import session as page_session
from ui.i18n import current_lang, seconds, t

PROXY_ENV = "BN_LAB_BEHIND_PROXY"
POLL_SECONDS = 1.0  # while a computation this page waits for goes on, the page asks for what is new once a second


@st.cache_resource
def runner() -> Runner:
    """One runner for the whole server: the limits on computations are server-wide. A computation
    lives while one of the pages that asked for it does, dropped connections included (ui.session).
    It ends its workers at exit, before multiprocessing's own exit handler (which found process
    objects the runner was closing at the same moment, and logged a traceback)."""
    shared = Runner(owner_alive=page_session.session_alive, owner_timeout=page_session.session_grace())
    atexit.register(shared.shutdown, timeout=5.0)
    return shared


@st.cache_resource(max_entries=4)
def load_dataset(name: str, directory: str) -> digit_data.Dataset:
    """The page's read-only copy of a data set (results and predictions)."""
    return digit_data.load(name, directory)


def client_address() -> str | None:
    """The browser's address, for the runner's per-client limit. With ``BN_LAB_BEHIND_PROXY=1`` (the
    compose and Kubernetes files set it: every connection then comes from the proxy) the last address
    in X-Forwarded-For, the one the proxy appended: a client can write entries before it, not after.
    Without it the header is ignored, since any client could send one."""
    try:
        direct = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For", "")
    except Exception:  # noqa: BLE001 - outside a served page (AppTest): no address
        return None
    if forwarded and os.environ.get(PROXY_ENV, "").strip() == "1":
        return forwarded.split(",")[-1].strip() or direct
    return direct or None


def request(configs: list, directory: str | None = None) -> list[str]:
    """The records' keys for ``configs`` (computed once for the server, shared); raises LimitReached
    when a new computation would pass a limit, ValueError for settings that cannot train."""
    return runner().submit_many(configs, directory, owner=page_session.session_id(), client=client_address())


def views(keys: list[str]) -> list[RunView | None]:
    return [runner().view(key) for key in keys]


def release(keys: list[str]) -> None:
    """This page no longer wants these runs: a computation nobody else wants stops."""
    for key in keys:
        runner().release(key, page_session.session_id())


def computing(found: list[RunView | None]) -> bool:
    return any(v is not None and v.active for v in found)


def limit_text(err: LimitReached) -> str:
    if err.reason == "session":
        return t("train.limit_session", n=err.limit)
    if err.reason == "client":
        return t("train.limit_client", n=err.limit)
    return t("train.limit_queue", n=err.limit, limit=runner().max_concurrent)


def queue_text(view: RunView) -> str:
    """Where a queued computation stands: its place and the estimated wait."""
    text = t("train.queued", place=view.place, limit=runner().max_concurrent)
    wait = t("train.queue_wait", wait=seconds(view.wait_seconds)) if view.wait_seconds is not None else ""
    return ("" if current_lang() == "zh" else " ").join(p for p in (text, wait) if p)


def failure_notice(view: RunView) -> tuple[str, str]:
    """(level, text) for a run that ended without results: information when it was stopped, else an error."""
    return ("info" if view.error in ("stopped_in_queue", "stopped") else "error"), failure_text(view)


def failure_text(view: RunView) -> str:
    if view.error in ("missing", "bad_file", "offline", "checksum", "unknown"):
        return t(f"train.data_{view.error}", detail=view.detail)
    if view.error == "stopped_in_queue":
        return t("train.stopped_in_queue")
    if view.error == "stopped":
        return t("train.stopped_unsaved")
    if view.error == "cap":
        return t("train.capped_failed", seconds=seconds(runner().max_seconds))
    return t("train.crashed")
