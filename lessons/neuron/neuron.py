"""Lesson `neuron`: one neuron's output distribution, and what BatchNorm does to it."""

import numpy as np
import streamlit as st

from bn_core import BatchNorm, batch_stats, neuron
from ui import charts
from ui.formulas import NEURON
from ui.frame import guarded, header
from ui.i18n import t
from ui.state import Param, mirror, restore, show_notices

SIZES = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)
PRESETS = {"a": (0.5, 0.5, 1.0), "b": (-0.5, 0.25, 1.0)}  # the classic demonstration's two weight settings
PARAMS = (
    Param("w1", "neuron.w1", 0.5, lo=-3.0, hi=3.0),
    Param("w2", "neuron.w2", 0.5, lo=-3.0, hi=3.0),
    Param("w0", "neuron.w0", 1.0, lo=-3.0, hi=3.0),
    Param("act", "neuron.act", "relu", kind="choice", choices=neuron.ACTIVATIONS),
    Param("n", "neuron.n", 10_000, kind="int", lo=SIZES[0], hi=SIZES[-1], options=SIZES),
    Param("seed", "neuron.seed", 0, kind="int", lo=0, hi=2**31 - 1),
    Param("mu", "neuron.mu", 0.0, lo=-3.0, hi=3.0),
    Param("sd", "neuron.sd", 1.0, lo=0.1, hi=3.0),
    Param("bn", "neuron.bn", False, kind="bool"),
    Param("place", "neuron.place", "before", kind="choice", choices=("before", "after")),
)
PIN = "neuron.pin"  # the pinned output histogram (this session only)
INPUTS = "neuron.inputs"  # this session's last input sample and the settings it was drawn with


def apply_preset(name: str) -> None:
    for key, value in zip(("neuron.w1", "neuron.w2", "neuron.w0"), PRESETS[name], strict=True):
        st.session_state[key] = value


def controls() -> tuple[bool, bool]:
    for name in ("w1", "w2", "w0"):
        st.slider(t(f"neuron.{name}"), -3.0, 3.0, step=0.01, key=f"neuron.{name}")
    st.selectbox(t("neuron.activation"), neuron.ACTIVATIONS, format_func=lambda a: t(f"act.{a}"), key="neuron.act")
    st.button(t("neuron.preset_a"), on_click=apply_preset, args=("a",), key="neuron.preset_a", width="stretch")
    st.button(t("neuron.preset_b"), on_click=apply_preset, args=("b",), key="neuron.preset_b", width="stretch")
    st.toggle(t("neuron.add_bn"), key="neuron.bn")
    st.radio(
        t("neuron.placement"),
        ("before", "after"),
        format_func=lambda p: t(f"neuron.place_{p}"),
        key="neuron.place",
        horizontal=True,
        disabled=not st.session_state["neuron.bn"],
    )
    with st.expander(t("neuron.inputs")):
        st.slider(t("neuron.mu"), -3.0, 3.0, step=0.1, key="neuron.mu")
        st.slider(t("neuron.sd"), 0.1, 3.0, step=0.1, key="neuron.sd")
        st.select_slider(t("neuron.n"), SIZES, format_func=lambda v: f"{v:,}", key="neuron.n")
        st.number_input(t("neuron.seed"), 0, 2**31 - 1, step=1, key="neuron.seed")
    pin = st.button(t("neuron.pin"), key="neuron.pin_button", icon=":material/push_pin:", width="stretch")
    unpin = st.button(
        t("neuron.unpin"), key="neuron.unpin_button", disabled=PIN not in st.session_state, width="stretch"
    )
    return pin, unpin


def body() -> None:
    header("neuron")
    show_notices(restore(PARAMS))
    lesson()
    with st.expander(t("neuron.why_title"), expanded=False):
        st.markdown(t("neuron.why"))


@st.fragment
def lesson() -> None:
    """Controls and charts rerun on their own when a control moves, without the
    frame and header around them: a slider move costs only this part."""
    guarded(lesson_body, "neuron.lesson")


def lesson_body() -> None:
    s = st.session_state
    panel, view = st.columns([1, 2.6], gap="large")
    with panel:
        pin, unpin = controls()

    act, use_bn, place = s["neuron.act"], s["neuron.bn"], s["neuron.place"]
    x = inputs(s["neuron.n"], s["neuron.mu"], s["neuron.sd"], s["neuron.seed"])
    z = neuron.pre_activation(x, s["neuron.w1"], s["neuron.w2"], s["neuron.w0"])
    y_plain = neuron.activate(z, act)
    bn_input = (z if place == "before" else y_plain)[:, None]  # (n, 1): one channel
    if use_bn:
        normalized = BatchNorm(1)(bn_input, training=True)[:, 0]
        y = neuron.activate(normalized, act) if place == "before" else normalized
    else:
        y = y_plain
    out_base = (-4.0, 4.0) if use_bn and place == "after" else output_base(act)
    out_hist = charts.binned(y, base=out_base)
    if pin:
        s[PIN] = out_hist
    if unpin:
        s.pop(PIN, None)

    with view:
        st.latex(NEURON)
        charts_row(z, y_plain, y, out_hist, act, use_bn)
        metrics_row(y, act, batch_stats(bn_input, axis=1) if use_bn else None)
    mirror(PARAMS)


def inputs(n: int, mu: float, sd: float, seed: int) -> np.ndarray:
    """The input sample, drawn again only when its settings change: a weight
    slider move reuses it (drawing 100 000 pairs costs about 3 ms)."""
    settings = (n, mu, sd, seed)
    kept = st.session_state.get(INPUTS)
    if kept is None or kept[0] != settings:
        x = neuron.sample_inputs(n, mu, sd, seed=seed)
        x.flags.writeable = False
        kept = st.session_state[INPUTS] = (settings, x)
    return kept[1]


def output_base(act: str) -> tuple[float, float]:
    return {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(act, (-1.0, 5.0))


def charts_row(z, y_plain, y, out_hist, act, use_bn) -> None:
    z_hist = charts.binned(z)
    columns = st.columns(3 if use_bn else 2)
    columns[0].plotly_chart(
        charts.histogram_figure(
            z_hist,
            title=t("neuron.chart_z"),
            x_title="z",
            y_title=t("common.share"),
            name="z",
            cut=0.0,
            cut_label=t("neuron.cut"),
        ),
        key="neuron.chart_z",
    )
    pinned = st.session_state.get(PIN)
    if use_bn:
        plain = charts.binned(y_plain, base=output_base(act))
        columns[1].plotly_chart(
            charts.histogram_figure(
                plain,
                title=t("neuron.chart_plain"),
                x_title="y",
                y_title=t("common.share"),
                name="f(z)",
                color=charts.PALETTE["ghost"],
            ),
            key="neuron.chart_plain",
        )
    columns[-1].plotly_chart(
        charts.histogram_figure(
            out_hist,
            title=t("neuron.chart_bn") if use_bn else t("neuron.chart_y"),
            x_title="y",
            y_title=t("common.share"),
            name=t("neuron.now"),
            ghost=pinned,
            ghost_name=t("neuron.pinned"),
        ),
        key="neuron.chart_y",
    )


def metrics_row(y: np.ndarray, act: str, bn_stats: tuple[np.ndarray, np.ndarray] | None) -> None:
    summary = neuron.summarize(y, act)
    shown = [  # (label, value, help): as many columns as numbers, so that labels are not cut
        (t("neuron.zero_share"), f"{summary.zero_share:.1%}", None),
        (t("neuron.out_mean"), f"{summary.mean:.3f}", None),
        (t("neuron.out_std"), f"{summary.std:.3f}", None),
    ]
    if summary.saturated_share is not None:
        shown.append((t("neuron.saturated"), f"{summary.saturated_share:.1%}", t("neuron.saturated_help")))
    if act == "relu" and bn_stats is None:
        s = st.session_state
        m, sd = neuron.pre_activation_params(
            s["neuron.w1"], s["neuron.w2"], s["neuron.w0"], s["neuron.mu"], s["neuron.sd"]
        )
        shown.append((t("neuron.theory"), f"{neuron.relu_moments(m, sd)[0]:.1%}", t("neuron.theory_help")))
    for column, (label, value, help_text) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(label, value, help=help_text)
    if bn_stats is not None:  # what BN normalized with: batch mean and biased variance (too long for a metric)
        st.markdown(rf"**{t('neuron.bn_stats')}:** $\mu_B$ = {bn_stats[0][0]:.4f}, $\sigma^2_B$ = {bn_stats[1][0]:.4f}")


guarded(body, "neuron")
