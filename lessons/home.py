"""Home: what BatchNorm is, the algorithm, and a map of the lessons."""

import streamlit as st

from ui.formulas import BN_ALGORITHM
from ui.frame import guarded
from ui.i18n import t
from ui.lessons import LESSONS
from ui.state import mirror

CARDS_PER_ROW = 3  # wide enough for the longest lesson title (ru, zh too) at 1440 px; one column on a phone


def body() -> None:
    st.title(t("home.title"))
    st.markdown(t("home.intro"))
    st.subheader(t("home.algorithm"))
    st.caption(t("home.algorithm_caption"))
    for line in BN_ALGORITHM:
        st.latex(line)
    st.markdown(t("home.why"))
    st.subheader(t("home.map"))
    ready = [lesson for lesson in LESSONS if lesson.ready]
    for start in range(0, len(ready), CARDS_PER_ROW):
        row = ready[start : start + CARDS_PER_ROW]
        for column, lesson in zip(st.columns(CARDS_PER_ROW), row, strict=False):
            with column.container(border=True, height="stretch"):
                st.page_link(lesson.path, label=t(f"nav.{lesson.name}"), icon=lesson.icon)
                st.caption(t(f"{lesson.name}.lead"))
    planned = [lesson for lesson in LESSONS if not lesson.ready]
    if planned:
        st.caption(t("home.planned"))
        for lesson in planned:
            st.page_link(lesson.path, label=t(f"nav.{lesson.name}"), icon=lesson.icon)
    mirror(())  # the home page keeps no link parameter but the language


guarded(body, "home")
