"""The code for this: a section's script, shown (with Streamlit's copy button) and offered as a download."""

from __future__ import annotations

import streamlit as st

from ui.i18n import t


def code_for_this(script: str, filename: str, key: str) -> None:
    """An expander with ``script`` and a download of it as ``filename``."""
    with st.expander(t("code.title"), icon=":material/code:"):
        st.caption(t("code.note"))
        st.code(script, language="python", wrap_lines=True)  # a long comment wraps, nothing hides off the right
        st.download_button(
            t("code.download"),
            script,
            file_name=filename,
            mime="text/x-python",
            icon=":material/download:",
            on_click="ignore",  # a download is no reason to rerun the page
            key=key,
        )
