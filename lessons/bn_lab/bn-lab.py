"""Lesson `bn-lab`: one BatchNorm layer, one question per section (batch statistics, train vs
eval and running statistics, batch size 1, the Keras puzzle, epsilon). Only the chosen
section runs; the section is in the link like every other setting."""

import streamlit as st

from lessons.bn_lab import sections as parts
from lessons.bn_lab.lab import Lab
from lessons.bn_lab.state import PARAMS, PRESETS, QUESTIONS
from ui.frame import guarded, header, lead, live_part
from ui.i18n import t
from ui.quiz import check_yourself
from ui.share import share_bar
from ui.state import restore, show_notices


def lab_settings() -> Lab:
    s = st.session_state
    s["bnlab.ch"] = min(s["bnlab.ch"], s["bnlab.c"] - 1)  # fewer channels than the one on show
    return Lab(**{p.key.removeprefix("bnlab."): s[p.key] for p in PARAMS if p.name != "section"})


def body() -> None:
    header("bn_lab")
    show_notices(restore(PARAMS))
    share_bar("bn_lab", PARAMS, PRESETS)
    s = st.session_state
    st.segmented_control(
        t("bn_lab.section"),
        tuple(parts.SECTIONS),
        format_func=lambda v: t(f"bn_lab.section_{v}"),
        key="bnlab.section",
        required=True,
    )
    lead(f"bn_lab_{s['bnlab.section']}")
    live_part(lambda: parts.SECTIONS[s["bnlab.section"]](lab_settings(), s), "bn-lab.section", PARAMS)
    check_yourself("bn_lab", QUESTIONS)


guarded(body, "bn-lab")
