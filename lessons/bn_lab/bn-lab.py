"""Lesson `bn-lab`: one BatchNorm layer, its batch statistics, modes and running statistics."""

import numpy as np
import streamlit as st

from bn_core import CONVENTIONS, BatchNorm, batch_stats
from bn_core.batches import SOURCES, sample_batch
from bn_core.batchnorm import pytorch_to_keras_momentum, values_per_channel
from bn_core.running import RunningTrace, trace_running_stats
from lessons.bn_lab import sections as parts
from ui.frame import guarded, header
from ui.i18n import t
from ui.state import Param, mirror, restore, show_notices

EPS_OPTIONS = (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
TRACE_BUDGET = 20_000_000  # values sampled for the running-statistics history (about half a second)
PARAMS = (
    Param("layout", "bnlab.layout", "nc", kind="choice", choices=("nc", "nchw")),
    Param("n", "bnlab.n", 32, kind="int", lo=1, hi=1024),
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
)


def convention_changed() -> None:
    """Keep the running average the same curve: Keras momentum m is PyTorch's 1 - m (and back)."""
    s = st.session_state
    s["bnlab.momentum"] = round(pytorch_to_keras_momentum(s["bnlab.momentum"]), 4)
    s["bnlab.eps"] = CONVENTIONS[s["bnlab.conv"]].eps
    s["bnlab.cma"] = False


def controls(c: int) -> None:
    s = st.session_state
    st.toggle(t("bn_lab.bn"), key="bnlab.bn")
    st.radio(
        t("bn_lab.conv"),
        tuple(CONVENTIONS),
        format_func=lambda v: t(f"bn_lab.conv_{v}"),
        key="bnlab.conv",
        horizontal=True,
        on_change=convention_changed,
    )
    st.radio(
        t("bn_lab.mode"),
        ("train", "eval"),
        format_func=lambda v: t(f"bn_lab.mode_{v}"),
        key="bnlab.mode",
        horizontal=True,
    )
    st.slider(t("bn_lab.n"), 1, 1024, key="bnlab.n")
    st.slider(t("bn_lab.c"), 1, 8, key="bnlab.c")
    st.radio(
        t("bn_lab.layout"),
        ("nc", "nchw"),
        format_func=lambda v: t(f"bn_lab.layout_{v}"),
        key="bnlab.layout",
        horizontal=True,
    )
    st.slider(t("bn_lab.hw"), 1, 16, key="bnlab.hw", disabled=s["bnlab.layout"] == "nc")
    st.selectbox(t("bn_lab.dist"), SOURCES, format_func=lambda v: t(f"bn_lab.dist_{v}"), key="bnlab.dist")
    with st.expander(t("bn_lab.population")):
        st.slider(t("bn_lab.mu"), -5.0, 5.0, step=0.1, key="bnlab.mu")
        st.slider(t("bn_lab.sd"), 0.0, 5.0, step=0.1, key="bnlab.sd")
        st.number_input(t("bn_lab.seed"), 0, 2**31 - 1, step=1, key="bnlab.seed")
    with st.expander(t("bn_lab.layer"), expanded=True):
        st.slider(
            t(f"bn_lab.momentum_{s['bnlab.conv']}"), 0.0, 1.0, step=0.01, key="bnlab.momentum", disabled=s["bnlab.cma"]
        )
        if s["bnlab.conv"] == "pytorch":
            st.checkbox(t("bn_lab.cma"), key="bnlab.cma", help=t("bn_lab.cma_help"))
        st.select_slider(t("bn_lab.eps"), EPS_OPTIONS, format_func=lambda v: f"{v:g}", key="bnlab.eps")
        st.slider("γ (gamma)", -3.0, 3.0, step=0.05, key="bnlab.gamma")
        st.slider("β (beta)", -3.0, 3.0, step=0.05, key="bnlab.beta")
    st.slider(t("bn_lab.k"), 0, 500, key="bnlab.k", help=t("bn_lab.k_help"))
    s["bnlab.ch"] = min(s["bnlab.ch"], c - 1)
    st.selectbox(t("bn_lab.ch"), range(c), key="bnlab.ch")


def make_layer(conv: str, c: int, momentum: float, cma: bool, eps: float, gamma: float, beta: float) -> BatchNorm:
    # The batches are channels-first, so the Keras layer is given axis=1.
    layer = BatchNorm(c, convention=conv, eps=eps, momentum=None if cma else momentum, axis=1)
    layer.gamma, layer.beta = np.full(c, gamma), np.full(c, beta)
    return layer


@st.cache_data(max_entries=32, show_spinner=False)
def history(shape, dist, mu, sd, seed, conv, momentum, cma, eps, k) -> RunningTrace:
    """Running statistics after k earlier training batches from the same population."""
    rng = np.random.default_rng([seed, 1])  # a stream apart from the batch on show
    # eps never touches the running statistics; a floor keeps PyTorch's eps > 0 rule from
    # refusing the history when the page shows eps = 0.
    layer = make_layer(conv, shape[1], momentum, cma, max(eps, 1e-12), 1.0, 0.0)
    return trace_running_stats(layer, (sample_batch(shape, dist, mu, sd, rng) for _ in range(k)))


def body() -> None:
    header("bn_lab")
    show_notices(restore(PARAMS))
    s = st.session_state
    c = s["bnlab.c"]
    panel, view = st.columns([1, 2.6], gap="large")
    with panel:
        controls(c)
    shape = (s["bnlab.n"], c) if s["bnlab.layout"] == "nc" else (s["bnlab.n"], c, s["bnlab.hw"], s["bnlab.hw"])
    conv, mode, ch = s["bnlab.conv"], s["bnlab.mode"], s["bnlab.ch"]
    cma = s["bnlab.cma"] and conv == "pytorch"
    k_used = min(s["bnlab.k"], TRACE_BUDGET // int(np.prod(shape)))
    untrainable = conv == "pytorch" and values_per_channel(shape, 1) == 1
    if untrainable:
        k_used = 0  # PyTorch cannot train on these batches at all (see the batch-of-one section)
    with st.spinner(t("bn_lab.feeding")):
        trace = history(
            shape,
            s["bnlab.dist"],
            s["bnlab.mu"],
            s["bnlab.sd"],
            s["bnlab.seed"],
            conv,
            s["bnlab.momentum"],
            cma,
            s["bnlab.eps"],
            k_used,
        )
    layer = make_layer(conv, c, s["bnlab.momentum"], cma, s["bnlab.eps"], s["bnlab.gamma"], s["bnlab.beta"])
    layer.running_mean, layer.running_var = trace.running_mean[-1].copy(), trace.running_var[-1].copy()
    layer.num_batches_tracked = k_used
    x = sample_batch(shape, s["bnlab.dist"], s["bnlab.mu"], s["bnlab.sd"], np.random.default_rng(s["bnlab.seed"]))
    stats = batch_stats(x, axis=1)  # (mean, biased var), each (C,): read by the table, formula and eps sections

    with view:
        if untrainable:
            st.info(t("bn_lab.running_refused"), icon=":material/block:")
        elif k_used < s["bnlab.k"]:
            st.info(t("bn_lab.k_capped", k=s["bnlab.k"], used=k_used), icon=":material/speed:")
        y, refusal = parts.run_layer(layer, x, mode == "train") if s["bnlab.bn"] else (x, None)
        if refusal:
            parts.refusal(refusal)
        parts.before_after(x, y, ch)
        parts.stats_table(stats, layer, mode == "train" and y is not None)
        if y is not None and s["bnlab.bn"]:
            parts.formula(x, y, stats, layer, mode == "train", ch)
        parts.running_section(
            trace, shape, s["bnlab.dist"], s["bnlab.mu"], s["bnlab.sd"], conv, s["bnlab.momentum"], cma, ch
        )
        parts.batch_of_one(shape, layer.axis)
        parts.keras_puzzle()
        parts.epsilon(stats, layer, ch)
    mirror(PARAMS)


guarded(body, "bn-lab")
