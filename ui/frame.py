"""What every page shares: its header, the guard that keeps tracebacks out
of the page, and the notice for lessons not built yet."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable

import pandas  # noqa: F401 - see below
import streamlit as st

from ui.i18n import t

# pandas is imported above, once, before any session runs, rather than lazily by the first page
# that needs it: Plotly peeks at sys.modules for pandas, and a session that found it half
# imported by another session failed ("partially initialized module 'pandas'", seen under load).

log = logging.getLogger("bn_lab")
timing = logging.getLogger("bn_lab.timing")

if level := os.environ.get("BN_LAB_LOG_LEVEL"):  # e.g. DEBUG: also log how long each page run takes
    log.setLevel(level.upper())
    log.addHandler(logging.StreamHandler())


@st.cache_resource
def freeze_imports(after: str) -> None:
    """Once per server process and per ``after`` (what was just imported): take every object
    alive now, the imported modules above all, out of the cyclic garbage collector's reach.
    A full collection walks all of them while it holds the GIL, so every session of the server
    stalls: 45 ms with Streamlit and Plotly imported, 110 ms with torch too (measured; Python
    starts one whenever enough objects have piled up). After gc.freeze() it takes microseconds.
    Frozen objects are still freed by reference counting as usual."""
    gc.freeze()
    log.debug("froze %d objects after %s", gc.get_freeze_count(), after)


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
