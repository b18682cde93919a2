"""Lesson `inside`: BatchNorm's forward and backward pass on one batch, the axes each
normalization shares, where BN goes, BN across devices, and BN as noise.

Each section is a module of this folder with its own ``PARAMS`` and ``show()``; the chosen
section is in the link (``?section=``), and only that section computes.
"""

import streamlit as st

from lessons.inside.state import PARAMS, PRESETS, QUESTIONS, SECTIONS
from ui.frame import guarded, header, lead, live_part
from ui.i18n import labels, t
from ui.quiz import check_yourself
from ui.share import share_bar
from ui.state import restore, show_notices


def body() -> None:
    header("inside")
    show_notices(restore(PARAMS))
    share_bar("inside", PARAMS, PRESETS)
    chosen = st.segmented_control(
        t("inside.section"),
        tuple(SECTIONS),
        format_func=labels("inside.sec_", SECTIONS).get,
        required=True,
        key="inside.section",
    )
    lead(f"inside_{chosen}")
    live_part(SECTIONS[chosen].show, "inside.section", PARAMS)
    check_yourself("inside", QUESTIONS)


guarded(body, "inside")
