"""The `bn-lab` controls: one function per widget, so that each section lists the ones it needs.

Every widget is keyed by its setting (``bnlab.<name>``, declared in the page's ``PARAMS``).
"""

from __future__ import annotations

import streamlit as st

from bn_core import CONVENTIONS
from bn_core.batches import BATCH_SIZES, SOURCES
from bn_core.batchnorm import pytorch_to_keras_momentum
from ui.controls import decimal_slider
from ui.i18n import num, t
from ui.state import value

EPS_OPTIONS = (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
ONE_SIZES = (1, 2, 3, 4, 8, 16, 32, 64)  # "Batch size 1": few options, each easy to hit
PUZZLE_X = -0.22630838  # the value from a user's question about tf.keras
PUZZLE_MOMENTA = (0.0, 0.5, 0.9, 0.99, 1.0)  # Keras's momentum: 0.99 is its default
SWITCH_NOTE = "bnlab.switch_note"  # what the last framework switch changed, shown once


def convention_changed() -> None:
    """Keep the running average the same curve (Keras momentum m is PyTorch's 1 - m); move ε
    to the new framework's default only if it was the old one's; say what changed."""
    s = st.session_state
    new = s["bnlab.conv"]
    old = "keras" if new == "pytorch" else "pytorch"
    # momentum, ε and the cumulative average may belong to a section the last run did not draw
    m_old = value("bnlab.momentum")
    s["bnlab.momentum"] = round(pytorch_to_keras_momentum(m_old), 4)
    changes = [t("bn_lab.switch_momentum", old=num(m_old, "g"), new=num(s["bnlab.momentum"], "g"))]
    eps = value("bnlab.eps")
    if eps == CONVENTIONS[old].eps:
        s["bnlab.eps"] = CONVENTIONS[new].eps
        changes.append(t("bn_lab.switch_eps", old=num(eps, "g"), new=num(CONVENTIONS[new].eps, "g")))
    else:
        changes.append(t("bn_lab.switch_eps_kept", eps=num(eps, "g"), default=num(CONVENTIONS[new].eps, "g")))
    if value("bnlab.cma"):
        s["bnlab.cma"] = False
        changes.append(t("bn_lab.switch_cma"))
    s[SWITCH_NOTE] = t("bn_lab.switched", framework=t(f"bn_lab.conv_{new}"), changes="; ".join(changes))


def radio(name: str, options: tuple[str, ...], **kwargs) -> None:
    """A horizontal radio for setting ``name``: label ``bn_lab.<name>``, options ``bn_lab.<name>_<option>``."""
    st.radio(
        t(f"bn_lab.{name}"),
        options,
        format_func=lambda v: t(f"bn_lab.{name}_{v}"),
        key=f"bnlab.{name}",
        horizontal=True,
        **kwargs,
    )


def control_framework(s) -> None:
    radio("conv", tuple(CONVENTIONS), on_change=convention_changed)
    if note := s.pop(SWITCH_NOTE, None):
        st.info(note, icon=":material/swap_horiz:")


def control_n(s) -> None:
    st.select_slider(t("bn_lab.n"), BATCH_SIZES, key="bnlab.n", format_func=lambda v: num(v, ","))


def control_n1(s) -> None:
    st.select_slider(t("bn_lab.n"), ONE_SIZES, key="bnlab.n1", format_func=lambda v: num(v, ","))


def control_puzzle(s) -> None:
    st.number_input("x", -1000.0, 1000.0, step=0.1, format="%.8f", key="bnlab.px")
    st.toggle("training=True", key="bnlab.ptrain", help=t("bn_lab.puzzle_training_help"))
    st.select_slider("momentum", PUZZLE_MOMENTA, key="bnlab.pm", format_func=lambda v: num(v, "g"))
    st.slider(t("bn_lab.puzzle_calls"), 0, 10, key="bnlab.pk", help=t("bn_lab.puzzle_calls_help"))


def control_shape(s, folded: bool = False) -> None:
    if folded:
        with st.expander(t("bn_lab.shape")):
            control_shape(s)
        return
    st.slider(t("bn_lab.c"), 1, 8, key="bnlab.c")
    radio("layout", ("nc", "nchw"))
    st.slider(t("bn_lab.hw"), 1, 16, key="bnlab.hw", disabled=s["bnlab.layout"] == "nc")


def control_dist(s, population: bool = True) -> None:
    st.selectbox(t("bn_lab.dist"), SOURCES, format_func=lambda v: t(f"bn_lab.dist_{v}"), key="bnlab.dist")
    if population:
        with st.expander(t("bn_lab.population")):
            control_mu(s)
            decimal_slider(t("bn_lab.sd"), 0.0, 5.0, 0.1, key="bnlab.sd")
            st.number_input(t("bn_lab.seed"), 0, 2**31 - 1, step=1, key="bnlab.seed")


def control_mu(s) -> None:
    decimal_slider(t("bn_lab.mu"), -5.0, 5.0, 0.1, key="bnlab.mu")


def control_mode(s) -> None:
    radio("mode", ("train", "eval"))


def control_affine(s) -> None:
    decimal_slider(t("bn_lab.gamma"), -3.0, 3.0, 0.05, key="bnlab.gamma")
    decimal_slider(t("bn_lab.beta"), -3.0, 3.0, 0.05, key="bnlab.beta")


def control_eps(s) -> None:
    st.select_slider(t("bn_lab.eps"), EPS_OPTIONS, format_func=lambda v: num(v, "g"), key="bnlab.eps")


def control_running(s) -> None:
    conv = s["bnlab.conv"]
    decimal_slider(t(f"bn_lab.momentum_{conv}"), 0.0, 1.0, 0.01, key="bnlab.momentum", disabled=s["bnlab.cma"])
    if conv == "pytorch":
        st.checkbox(t("bn_lab.cma"), key="bnlab.cma", help=t("bn_lab.cma_help"))
    st.slider(t("bn_lab.k"), 0, 500, key="bnlab.k", help=t("bn_lab.k_help"))


def control_channel(s) -> None:
    st.selectbox(t("bn_lab.ch"), range(s["bnlab.c"]), key="bnlab.ch")
