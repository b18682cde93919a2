"""The sections of the `bn-lab` lesson, one question each: its controls and what it shows.

Numbers come from bn_core; this module reads widgets and lays the numbers out. Every
section reads the shared settings (``Lab``) and draws only its own controls, so the
values of the others stay as the student left them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import CONVENTIONS, BatchNorm, reduced_axes
from bn_core.batches import BATCH_SIZES, SOURCES, population_stats, sample_batch
from bn_core.batchnorm import pytorch_to_keras_momentum, single_value_message, values_per_channel
from bn_core.histogram import mapped_histogram
from bn_core.keras import tf_batch_normalization
from bn_core.running import RunningTrace, settles_at, trace_running_stats
from ui import charts
from ui.i18n import num, pct, t

EPS_OPTIONS = (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
TRACE_BUDGET = 20_000_000  # values sampled for the running-statistics history (about half a second)
PUZZLE_X = np.float32(-0.22630838)  # the value from a user's question about tf.keras


@dataclass(frozen=True)
class Lab:
    """The page's settings, read once per run from session state."""

    n: int
    c: int
    layout: str
    hw: int
    dist: str
    mu: float
    sd: float
    seed: int
    bn: bool
    mode: str
    conv: str
    momentum: float
    cma: bool
    eps: float
    gamma: float
    beta: float
    k: int
    ch: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n, self.c) if self.layout == "nc" else (self.n, self.c, self.hw, self.hw)

    @property
    def momentum_or_none(self) -> float | None:
        return None if (self.cma and self.conv == "pytorch") else self.momentum

    def batch(self) -> np.ndarray:
        """The batch on show, in float32 as a framework's layer receives it. (N, C[, H, W])"""
        x = sample_batch(self.shape, self.dist, self.mu, self.sd, np.random.default_rng(self.seed))
        return x.astype(np.float32)

    def layer(self) -> BatchNorm:
        # The batches are channels-first, so the Keras layer is given axis=1.
        layer = BatchNorm(self.c, convention=self.conv, eps=self.eps, momentum=self.momentum_or_none, axis=1)
        layer.gamma, layer.beta = np.full(self.c, self.gamma), np.full(self.c, self.beta)
        return layer


# --- controls: one function per widget, so that each section lists the ones it needs ---

SWITCH_NOTE = "bnlab.switch_note"  # what the last framework switch changed, shown once


def convention_changed() -> None:
    """Keep the running average the same curve (Keras momentum m is PyTorch's 1 - m); move ε
    to the new framework's default only if it was the old one's; say what changed."""
    s = st.session_state
    new = s["bnlab.conv"]
    old = "keras" if new == "pytorch" else "pytorch"
    m_old = s["bnlab.momentum"]
    s["bnlab.momentum"] = round(pytorch_to_keras_momentum(m_old), 4)
    changes = [t("bn_lab.switch_momentum", old=num(m_old, "g"), new=num(s["bnlab.momentum"], "g"))]
    eps = s["bnlab.eps"]
    if eps == CONVENTIONS[old].eps:
        s["bnlab.eps"] = CONVENTIONS[new].eps
        changes.append(t("bn_lab.switch_eps", old=num(eps, "g"), new=num(CONVENTIONS[new].eps, "g")))
    else:
        changes.append(t("bn_lab.switch_eps_kept", eps=num(eps, "g"), default=num(CONVENTIONS[new].eps, "g")))
    if s["bnlab.cma"]:
        s["bnlab.cma"] = False
        changes.append(t("bn_lab.switch_cma"))
    s[SWITCH_NOTE] = t("bn_lab.switched", framework=t(f"bn_lab.conv_{new}"), changes="; ".join(changes))


def control_framework(s) -> None:
    st.radio(
        t("bn_lab.conv"),
        tuple(CONVENTIONS),
        format_func=lambda v: t(f"bn_lab.conv_{v}"),
        key="bnlab.conv",
        horizontal=True,
        on_change=convention_changed,
    )
    if note := s.pop(SWITCH_NOTE, None):
        st.info(note, icon=":material/swap_horiz:")


def control_n(s) -> None:
    st.select_slider(t("bn_lab.n"), BATCH_SIZES, key="bnlab.n", format_func=lambda v: num(v, ","))


def control_shape(s, folded: bool = False) -> None:
    if folded:
        with st.expander(t("bn_lab.shape")):
            control_shape(s)
        return
    st.slider(t("bn_lab.c"), 1, 8, key="bnlab.c")
    st.radio(
        t("bn_lab.layout"),
        ("nc", "nchw"),
        format_func=lambda v: t(f"bn_lab.layout_{v}"),
        key="bnlab.layout",
        horizontal=True,
    )
    st.slider(t("bn_lab.hw"), 1, 16, key="bnlab.hw", disabled=s["bnlab.layout"] == "nc")


def control_dist(s, population: bool = True) -> None:
    st.selectbox(t("bn_lab.dist"), SOURCES, format_func=lambda v: t(f"bn_lab.dist_{v}"), key="bnlab.dist")
    if population:
        with st.expander(t("bn_lab.population")):
            control_mu(s)
            st.slider(t("bn_lab.sd"), 0.0, 5.0, step=0.1, key="bnlab.sd")
            st.number_input(t("bn_lab.seed"), 0, 2**31 - 1, step=1, key="bnlab.seed")


def control_mu(s) -> None:
    st.slider(t("bn_lab.mu"), -5.0, 5.0, step=0.1, key="bnlab.mu")


def control_mode(s) -> None:
    st.radio(
        t("bn_lab.mode"),
        ("train", "eval"),
        format_func=lambda v: t(f"bn_lab.mode_{v}"),
        key="bnlab.mode",
        horizontal=True,
    )


def control_affine(s) -> None:
    st.slider(t("bn_lab.gamma"), -3.0, 3.0, step=0.05, key="bnlab.gamma")
    st.slider(t("bn_lab.beta"), -3.0, 3.0, step=0.05, key="bnlab.beta")


def control_eps(s) -> None:
    st.select_slider(t("bn_lab.eps"), EPS_OPTIONS, format_func=lambda v: num(v, "g"), key="bnlab.eps")


def control_running(s) -> None:
    conv = s["bnlab.conv"]
    st.slider(t(f"bn_lab.momentum_{conv}"), 0.0, 1.0, step=0.01, key="bnlab.momentum", disabled=s["bnlab.cma"])
    if conv == "pytorch":
        st.checkbox(t("bn_lab.cma"), key="bnlab.cma", help=t("bn_lab.cma_help"))
    st.slider(t("bn_lab.k"), 0, 500, key="bnlab.k", help=t("bn_lab.k_help"))


def control_channel(s) -> None:
    st.selectbox(t("bn_lab.ch"), range(s["bnlab.c"]), key="bnlab.ch")


# --- what the layer does ---


@st.cache_data(max_entries=32, show_spinner=False)
def history(shape, dist, mu, sd, seed, conv, momentum, k) -> RunningTrace:
    """Running statistics after k earlier training batches from the same population."""
    rng = np.random.default_rng([seed, 1])  # a stream apart from the batch on show
    # eps never touches the running statistics; PyTorch's eps > 0 rule in training is met with the default.
    layer = BatchNorm(shape[1], convention=conv, momentum=momentum, axis=1)
    return trace_running_stats(layer, (sample_batch(shape, dist, mu, sd, rng).astype(np.float32) for _ in range(k)))


@dataclass(frozen=True)
class Fed:
    """The running statistics a layer has when the batch on show arrives."""

    trace: RunningTrace | None
    k_used: int
    untrainable: bool  # PyTorch cannot train on batches with one value per channel


def feed(lab: Lab, layer: BatchNorm) -> Fed:
    """Give ``layer`` the running statistics of ``lab.k`` earlier training batches (cached)."""
    untrainable = lab.conv == "pytorch" and values_per_channel(lab.shape, 1) == 1
    k_used = 0 if untrainable else min(lab.k, TRACE_BUDGET // int(np.prod(lab.shape)))
    with st.spinner(t("bn_lab.feeding")):
        trace = history(lab.shape, lab.dist, lab.mu, lab.sd, lab.seed, lab.conv, lab.momentum_or_none, k_used)
    layer.running_mean, layer.running_var = trace.running_mean[-1].copy(), trace.running_var[-1].copy()
    layer.num_batches_tracked = k_used
    return Fed(trace, k_used, untrainable)


def run_layer(layer: BatchNorm, x: np.ndarray, training: bool) -> tuple[np.ndarray | None, str | None]:
    """The layer's output, or None and the framework's refusal (PyTorch raises ValueError)."""
    try:
        return layer(x, training=training), None
    except ValueError as refusal:
        return None, str(refusal)


def refusal(message: str, shape: tuple[int, ...]) -> None:
    """PyTorch's error, word for word, and the ways out that fit it."""
    st.warning(t("bn_lab.refused"), icon=":material/block:")
    st.code(f"ValueError: {message}", language=None, wrap_lines=True)
    st.markdown(t("bn_lab.ways_out" if message == single_value_message(shape) else "bn_lab.eps_way_out"))


# --- the pieces of a section's view ---


def before_after(
    x: np.ndarray, y: np.ndarray | None, layer: BatchNorm | None, training: bool, ch: int, nan_note: bool = True
) -> None:
    """Histograms of channel ch before and after; the output is binned with the input's
    edges mapped through the layer's per-channel map (the identity without a layer), so
    both show the same shape."""
    left, right = st.columns(2)
    before = charts.binned(x[:, ch], base=(-4.0, 4.0))
    left.plotly_chart(
        charts.histogram_figure(
            before,
            title=t("bn_lab.before", ch=ch),
            x_title="x",
            y_title=t("common.share"),
            name="x",
            color=charts.PALETTE["ghost"],
            x_range=(before.edges[0], before.edges[-1]),
        ),
        key="bnlab.chart_before",
    )
    if y is None:
        right.info(t("bn_lab.no_output"), icon=":material/block:")
        return
    scale, shift = layer.affine_map(x, training) if layer else (np.ones(x.shape[1]), np.zeros(x.shape[1]))
    after = None
    if np.ptp(x[:, ch]) > 0:  # one repeated value is a spike either way; its bins need no mapping
        after = mapped_histogram(y[:, ch], before, scale[ch], shift[ch])
    after = after or charts.binned(y[:, ch], base=(-4.0, 4.0))
    right.plotly_chart(
        charts.histogram_figure(
            after,
            title=t("bn_lab.after", ch=ch),
            x_title="y",
            y_title=t("common.share"),
            name="y",
            x_range=(after.edges[0], after.edges[-1]),
        ),
        key="bnlab.chart_after",
    )
    if nan_note and not np.isfinite(y).all():
        st.warning(t("bn_lab.nan"), icon=":material/warning:")


def stats_table(stats: tuple[np.ndarray, np.ndarray], layer: BatchNorm | None = None) -> None:
    """Batch statistics per channel, and the layer's running ones when given."""
    mean, var = stats
    columns = {
        t("bn_lab.col_channel"): [str(c) for c in range(len(mean))],
        t("bn_lab.col_batch_mean"): [num(v, ".4g") for v in mean],
        t("bn_lab.col_batch_var"): [num(v, ".4g") for v in var],
    }
    if layer is not None:
        columns[t("bn_lab.col_running_mean")] = [num(v, ".4g") for v in layer.running_mean]
        columns[t("bn_lab.col_running_var")] = [num(v, ".4g") for v in layer.running_var]
    st.markdown(f"**{t('bn_lab.table')}**")
    st.dataframe(pd.DataFrame(columns), hide_index=True, width="stretch", key="bnlab.table")


def formula(x: np.ndarray, y: np.ndarray, layer: BatchNorm, training: bool, ch: int) -> None:
    """The layer's formula with this batch's numbers, for the channel's first value; y is the layer's output."""
    mean, var = layer.statistics(x, training)
    first = (0, ch) + (0,) * (x.ndim - 2)
    x0, y0 = float(x[first]), float(y[first])
    g, b, m, v, e = float(layer.gamma[ch]), float(layer.beta[ch]), float(mean[ch]), float(var[ch]), layer.eps
    mu, s2 = (r"\mu_B", r"\sigma_B^2") if layer.uses_batch_stats(training) else (r"\mu_{run}", r"\sigma_{run}^2")
    st.markdown(f"**{t('bn_lab.formula', ch=ch)}**")
    st.latex(
        rf"y = \gamma\,\frac{{x - {mu}}}{{\sqrt{{{s2} + \varepsilon}}}} + \beta"
        rf" = {tex(g)}\cdot\frac{{{tex(x0)} - ({tex(m)})}}{{\sqrt{{{tex(v)} + {tex(e)}}}}} + ({tex(b)}) = {tex(y0)}"
    )


def tex(value: float) -> str:
    """A number for LaTeX: 4 significant digits, powers of ten written as such, the language's decimal mark."""
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = rf"10^{{{int(exponent)}}}"
        return power if mantissa == "1" else rf"{num(float(mantissa), 'g')}\cdot {power}"
    return num(value, ".4g").replace(",", "{,}")


def running_charts(fed: Fed, lab: Lab) -> None:
    """The running statistics over the earlier batches, where they settle, and the train/eval gap."""
    trace, ch = fed.trace, lab.ch
    if fed.untrainable:
        st.info(t("bn_lab.running_refused"), icon=":material/block:")
        return
    if fed.k_used < lab.k:
        st.info(t("bn_lab.k_capped", k=num(lab.k, ","), used=num(fed.k_used, ",")), icon=":material/speed:")
    if fed.k_used == 0:
        st.info(t("bn_lab.running_none"), icon=":material/info:")
        return
    n = values_per_channel(lab.shape, 1)
    target_mean, target_var = settles_at(*population_stats(lab.c, lab.dist, lab.mu, lab.sd), n, lab.conv)
    steps = np.arange(trace.running_mean.shape[0])
    left, right = st.columns(2)
    left.plotly_chart(
        charts.lines_figure(
            steps,
            [
                (t("bn_lab.running_mean"), trace.running_mean[:, ch], "solid"),
                (t("bn_lab.running_var"), trace.running_var[:, ch], "dash"),
            ],
            title=t("bn_lab.running_chart", ch=ch),
            x_title=t("bn_lab.batches"),
            y_title="",
            hlines=[
                (target_mean[ch], t("bn_lab.settle_mean", v=num(target_mean[ch], ".3g"))),
                (target_var[ch], t("bn_lab.settle_var", v=num(target_var[ch], ".3g"))),
            ],
            legend_below=True,
        ),
        key="bnlab.chart_running",
    )
    right.plotly_chart(
        charts.lines_figure(
            steps[1:],
            [(t("bn_lab.gap"), trace.gap, "solid")],
            title=t("bn_lab.gap_chart"),
            x_title=t("bn_lab.batches"),
            y_title=t("bn_lab.gap"),
            log_y=bool(np.all(trace.gap > 0)),
            legend_below=True,
        ),
        key="bnlab.chart_gap",
    )
    pop_var = population_stats(lab.c, lab.dist, lab.mu, lab.sd)[1][ch]
    st.caption(
        t(
            f"bn_lab.settle_note_{lab.conv}",
            n=num(n, ","),
            factor=num((n - 1) / n, ".3g"),
            pop=num(pop_var, ".3g"),
            target=num(target_var[ch], ".3g"),
        )
    )
    if lab.momentum_or_none is None:
        st.caption(t("bn_lab.cma_note"))
    else:
        pytorch_m = lab.momentum if lab.conv == "pytorch" else pytorch_to_keras_momentum(lab.momentum)
        keras_m = pytorch_to_keras_momentum(pytorch_m)  # the map is its own inverse
        st.caption(t("bn_lab.translator", pt=num(round(pytorch_m, 6), "g"), keras=num(round(keras_m, 6), "g")))


# --- the sections ---


def two_columns():
    """The section's controls (the framework first) on the left, what they show on the right."""
    panel, view = st.columns([1, 2.6], gap="large")
    with panel:
        control_framework(st.session_state)
    return panel, view


def section_stats(lab: Lab, s) -> None:
    panel, view = two_columns()
    with panel:
        st.toggle(t("bn_lab.bn"), key="bnlab.bn")
        control_n(s)
        control_dist(s)
        control_shape(s, folded=True)
        control_affine(s)
        control_channel(s)
    with view:
        st.markdown(t("bn_lab.stats_intro"))
        x, layer = lab.batch(), lab.layer()
        y, refused = run_layer(layer, x, training=True) if lab.bn else (x, None)
        if refused:
            refusal(refused, x.shape)
        before_after(x, y, layer if lab.bn else None, True, lab.ch)
        stats_table(layer.statistics(x, True))
        st.caption(t("bn_lab.table_note"))
        if y is not None and lab.bn:
            formula(x, y, layer, True, lab.ch)


def section_running(lab: Lab, s) -> None:
    panel, view = two_columns()
    with panel:
        control_mode(s)
        control_n(s)
        control_running(s)
        control_dist(s, population=False)
        control_channel(s)
    with view:
        st.markdown(t("bn_lab.running_intro"))
        x, layer = lab.batch(), lab.layer()
        fed = feed(lab, layer)
        training = lab.mode == "train"
        y, refused = run_layer(layer, x, training)
        if refused:
            refusal(refused, x.shape)
        before_after(x, y, layer, training, lab.ch)
        stats_table(layer.statistics(x, True), layer)
        st.caption(t(table_note(training, refused is not None)))
        if y is not None:
            formula(x, y, layer, training, lab.ch)
        st.subheader(t("bn_lab.running_title"))
        running_charts(fed, lab)


def table_note(training: bool, refused: bool) -> str:
    if refused:
        return "bn_lab.table_note_refused"
    return "bn_lab.table_note_updated" if training else "bn_lab.table_note_eval"


def section_one(lab: Lab, s) -> None:
    panel, view = two_columns()
    with panel:
        control_n(s)
        control_shape(s)
        control_mode(s)
    with view:
        st.markdown(t("bn_lab.one_text"))
        axes = reduced_axes(len(lab.shape), 1)
        count = values_per_channel(lab.shape, 1)
        st.markdown(t("bn_lab.one_now", shape=str(lab.shape), axes=str(axes), count=num(count, ",")))
        x, layer = lab.batch(), lab.layer()
        training = lab.mode == "train"
        if not training:
            feed(lab, layer)
        y, refused = run_layer(layer, x, training)
        if refused:
            refusal(refused, x.shape)
        elif count == 1 and training:
            st.info(t("bn_lab.one_keras", beta=num(lab.beta, "g")), icon=":material/visibility_off:")
        before_after(x, y, layer, training, lab.ch)


def section_puzzle(lab: Lab, s) -> None:
    """Every number here is computed by the engine under the keras convention."""
    st.markdown(t("bn_lab.puzzle_question", x=str(PUZZLE_X)))

    def fresh(momentum: float = 0.99) -> BatchNorm:
        return BatchNorm(1, convention="keras", momentum=momentum)

    x = np.array([PUZZLE_X], dtype=np.float32)
    one, zero = np.ones(1), np.zeros(1)
    rows = [
        (t("bn_lab.puzzle_direct_tf"), tf_batch_normalization(x, zero, one, one, zero, CONVENTIONS["keras"].eps)),
        (t("bn_lab.puzzle_direct"), fresh()(x)),
        (t("bn_lab.puzzle_train"), fresh()(x, training=True)),
    ]
    for m in (0.0, 1.0):
        layer = fresh(m)
        layer(x, training=True)
        rows.append((t("bn_lab.puzzle_after_train", m=f"{m:g}"), layer(x)))
    st.dataframe(
        pd.DataFrame({t("bn_lab.puzzle_call"): [r[0] for r in rows], "y": [str(r[1][0]) for r in rows]}),
        hide_index=True,
        width="stretch",
        key="bnlab.puzzle_table",
    )
    st.markdown(t("bn_lab.puzzle_answer"))


def section_eps(lab: Lab, s) -> None:
    panel, view = two_columns()
    with panel:
        control_eps(s)
        control_dist(s, population=False)
        control_mu(s)
        control_n(s)
        control_mode(s)
        control_channel(s)
    with view:
        st.markdown(t("bn_lab.eps_text"))
        x, layer = lab.batch(), lab.layer()
        training = lab.mode == "train"
        if not training:
            feed(lab, layer)
        y, refused = run_layer(layer, x, training)
        mean, var = (np.asarray(v, np.float64) for v in layer.statistics(x, training))
        v, e, ch = float(var[lab.ch]), layer.eps, lab.ch
        if v + e > 0:
            st.markdown(t("bn_lab.eps_now", ch=ch, var=num(v, ".3g"), eps=num(e, "g"), share=pct(e / (v + e))))
        else:
            st.markdown(t("bn_lab.eps_now_none", ch=ch, var=num(v, ".3g"), eps=num(e, "g")))
        if refused:
            refusal(refused, x.shape)
        else:
            eps_outcome(x, y, mean, var, layer, ch)
        before_after(x, y, layer, training, ch, nan_note=False)  # eps_outcome says why


def eps_outcome(x: np.ndarray, y: np.ndarray, mean: np.ndarray, var: np.ndarray, layer: BatchNorm, ch: int) -> None:
    """The channel's first value through the layer, in the framework's own arithmetic, and why it comes out so."""
    first = (0, ch) + (0,) * (x.ndim - 2)
    m, v, y0 = float(mean[ch]), float(var[ch]), float(y[first])
    centered = float(x[first]) - m
    dtype = layer.dtype if layer.convention == "keras" else "float64"
    st.markdown(
        t(
            "bn_lab.eps_numbers",
            framework=t(f"bn_lab.conv_{layer.convention}"),
            dtype=dtype,
            mean=num(m, ".9g"),
            var=num(v, ".3g"),
            diff=num(centered, ".3g"),
            y=num(y0, ".4g"),
        )
    )
    denominator = v + layer.eps
    if denominator < 0:
        case = "negative"
    elif denominator == 0:
        case = "zero_over_zero" if centered == 0 else "over_zero"
    elif layer.eps == 0 and v < 1e-6 * max(m * m, 1e-30):
        case = "rounding"
    else:
        return
    st.info(t(f"bn_lab.eps_case_{case}", y=num(y0, ".4g")), icon=":material/calculate:")


SECTIONS = {
    "stats": section_stats,
    "running": section_running,
    "one": section_one,
    "puzzle": section_puzzle,
    "eps": section_eps,
}
