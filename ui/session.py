"""The page's session as the server sees it: Streamlit's id for it, whether Streamlit still
holds it (also while its connection is down), and the browser tab's own id, which outlives a
reload (session.js beside this file keeps it in the tab's sessionStorage).

Streamlit keeps a session whose connection dropped for ``server.disconnectedSessionTTL``
seconds (120 by default) and resumes it if the browser reconnects within that time; a reload
or a closed tab leaves its session to expire the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
from streamlit import config
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import notice

_JS = (Path(__file__).resolve().parent / "session.js").read_text(encoding="utf-8")
_element = st.components.v2.component("bn_lab.browser_session", js=_JS)
KEY = "bn_lab.browser_session"  # the element's key (its state: {"id": ...})
TAB_ID = re.compile(r"[0-9a-f]{32}")
# Seconds beyond Streamlit's own grace before a session counts as gone: the runner looks at
# sessions every 0.1 s, but a busy moment (a worker starting) can delay a look by seconds.
GRACE_MARGIN = 5.0


def session_id() -> str | None:
    """Streamlit's id of the session running this script (None outside a script run)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def session_alive(session: str) -> bool:
    """Whether the session is connected now. Safe to call from any thread (Streamlit's
    ``Runtime.is_active_session`` is documented as such); False without a running server."""
    return Runtime.exists() and Runtime.instance().is_active_session(session) is True


def session_grace() -> float:
    """Seconds a session may stay disconnected before it is gone: Streamlit's
    ``server.disconnectedSessionTTL``, plus a margin."""
    return float(config.get_option("server.disconnectedSessionTTL")) + GRACE_MARGIN


def tab_id() -> str | None:
    """This browser tab's id, once its element (``mount_tab_id``) has reported it; None before."""
    state = st.session_state.get(KEY)
    value = state.get("id") if state is not None else None
    return value if isinstance(value, str) and TAB_ID.fullmatch(value) else None


def mount_tab_id() -> None:
    """The invisible element that reports the tab's id (once: it knows what the page knows)."""
    _element(key=KEY, data=tab_id(), on_id_change=_reported, height=0)


def _reported() -> None:
    """The id arrived: the rerun it causes reads it (a state key needs a callback to be kept).
    That rerun is the page's, not the student's: a message posted just before stays."""
    notice.hold()
