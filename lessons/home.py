"""Home: what BatchNorm is, the algorithm, and a map of the lessons."""

import streamlit as st

from ui.formulas import BN_ALGORITHM
from ui.frame import guarded
from ui.i18n import t
from ui.lessons import LESSONS


def body() -> None:
    st.title(t("home.title"))
    st.markdown(t("home.intro"))
    st.subheader(t("home.algorithm"))
    st.caption(t("home.algorithm_caption"))
    for line in BN_ALGORITHM:
        st.latex(line)
    st.markdown(t("home.why"))
    st.subheader(t("home.map"))
    for column, lesson in zip(st.columns(len(LESSONS)), LESSONS, strict=True):
        with column.container(border=True):
            st.page_link(lesson.path, label=t(f"nav.{lesson.name}"), icon=lesson.icon)
            st.caption(t(f"{lesson.name}.lead"))


guarded(body, "home")
