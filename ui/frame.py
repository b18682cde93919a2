"""What every page shares: its header, the guard that keeps tracebacks out
of the page, and the notice for lessons not built yet."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from ui.i18n import t

log = logging.getLogger("bn_lab")


def header(page: str) -> None:
    st.title(t(f"{page}.title"))
    st.caption(t(f"{page}.lead"))


def guarded(body: Callable[[], None]) -> None:
    """Run a page body; an unexpected error becomes a message in the user's
    language (details go to the server log), never a traceback."""
    try:
        body()
    except Exception:  # noqa: BLE001 - the last line of defence; st.stop/st.rerun are BaseExceptions
        log.exception("page failed")
        st.error(t("error.unexpected"), icon=":material/error:")


def not_built_yet(page: str) -> None:
    header(page)
    st.info(t("common.not_built"), icon=":material/construction:")
    st.markdown(t(f"{page}.plan"))
