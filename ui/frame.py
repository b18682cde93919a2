"""What every page shares: its header, the guard that keeps tracebacks out
of the page, and the notice for lessons not built yet."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import streamlit as st

from ui.i18n import t

log = logging.getLogger("bn_lab")
timing = logging.getLogger("bn_lab.timing")

if level := os.environ.get("BN_LAB_LOG_LEVEL"):  # e.g. DEBUG: also log how long each page run takes
    log.setLevel(level.upper())
    log.addHandler(logging.StreamHandler())


def header(page: str) -> None:
    st.title(t(f"{page}.title"))
    st.caption(t(f"{page}.lead"))


def guarded(body: Callable[[], None], name: str = "page") -> None:
    """Run a page body (or a fragment's); an unexpected error becomes a message
    in the user's language (details go to the server log), never a traceback.
    The run's duration goes to the ``bn_lab.timing`` log at DEBUG level."""
    start = time.perf_counter()
    try:
        body()
    except Exception:  # noqa: BLE001 - the last line of defence; st.stop/st.rerun are BaseExceptions
        log.exception("%s failed", name)
        st.error(t("error.unexpected"), icon=":material/error:")
    finally:
        timing.debug("%s ran in %.2f ms", name, (time.perf_counter() - start) * 1000)


def not_built_yet(page: str) -> None:
    header(page)
    st.info(t("common.not_built"), icon=":material/construction:")
    st.markdown(t(f"{page}.plan"))
