"""Lesson `bn-lab`: one BatchNorm layer, one question per section (batch statistics, train vs
eval and running statistics, batch size 1, the Keras puzzle, epsilon). Only the chosen
section runs; the section is in the link like every other setting."""

import streamlit as st

from bn_core import CONVENTIONS
from bn_core.batches import BATCH_SIZES, SOURCES
from lessons.bn_lab import sections as parts
from lessons.bn_lab.controls import EPS_OPTIONS, ONE_SIZES, PUZZLE_MOMENTA, PUZZLE_X
from lessons.bn_lab.lab import Lab
from ui.frame import guarded, header, lead, live_part
from ui.i18n import t
from ui.quiz import check_yourself
from ui.share import share_bar
from ui.state import Param, restore, show_notices

PARAMS = (
    Param("section", "bnlab.section", "stats", kind="choice", choices=tuple(parts.SECTIONS)),
    Param("layout", "bnlab.layout", "nc", kind="choice", choices=("nc", "nchw")),
    Param("n", "bnlab.n", 32, kind="int", lo=1, hi=1024, options=BATCH_SIZES),
    Param("c", "bnlab.c", 3, kind="int", lo=1, hi=8),
    Param("hw", "bnlab.hw", 4, kind="int", lo=1, hi=16),
    Param("dist", "bnlab.dist", "normal", kind="choice", choices=SOURCES),
    Param("mu", "bnlab.mu", 2.0, lo=-5.0, hi=5.0),
    Param("sd", "bnlab.sd", 1.5, lo=0.0, hi=5.0),
    Param("seed", "bnlab.seed", 0, kind="int", lo=0, hi=2**31 - 1),
    Param("bn", "bnlab.bn", True, kind="bool"),
    Param("mode", "bnlab.mode", "train", kind="choice", choices=("train", "eval")),
    Param("conv", "bnlab.conv", "pytorch", kind="choice", choices=tuple(CONVENTIONS)),
    Param("momentum", "bnlab.momentum", 0.1, lo=0.0, hi=1.0),
    Param("cma", "bnlab.cma", False, kind="bool"),
    Param("eps", "bnlab.eps", 1e-5, lo=0.0, hi=1.0, options=EPS_OPTIONS),
    Param("gamma", "bnlab.gamma", 1.0, lo=-3.0, hi=3.0),
    Param("beta", "bnlab.beta", 0.0, lo=-3.0, hi=3.0),
    Param("k", "bnlab.k", 50, kind="int", lo=0, hi=500),
    Param("ch", "bnlab.ch", 0, kind="int", lo=0, hi=7),
    Param("n1", "bnlab.n1", 1, kind="int", lo=1, hi=64, options=ONE_SIZES),  # "Batch size 1" opens at N = 1
    Param("px", "bnlab.px", float(PUZZLE_X), lo=-1000.0, hi=1000.0),  # the Keras puzzle's x, training, momentum
    Param("ptrain", "bnlab.ptrain", False, kind="bool"),
    Param("pm", "bnlab.pm", 0.99, lo=0.0, hi=1.0, options=PUZZLE_MOMENTA),
    Param("pk", "bnlab.pk", 0, kind="int", lo=0, hi=10),
)


def lab_settings() -> Lab:
    s = st.session_state
    s["bnlab.ch"] = min(s["bnlab.ch"], s["bnlab.c"] - 1)  # fewer channels than the one on show
    return Lab(**{p.key.removeprefix("bnlab."): s[p.key] for p in PARAMS if p.name != "section"})


def body() -> None:
    header("bn_lab")
    show_notices(restore(PARAMS))
    share_bar("bn_lab", PARAMS)
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
    check_yourself("bn_lab")


guarded(body, "bn-lab")
