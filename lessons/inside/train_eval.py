"""Section `train_eval`: not built yet."""

import streamlit as st

from ui.i18n import t

PARAMS = ()


def show() -> None:
    st.info(t("common.not_built"), icon=":material/construction:")
