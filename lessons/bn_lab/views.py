"""The pieces a `bn-lab` section shows: histograms, tables, the formula, the running-statistics
charts, refusals and the ε outcome. Numbers come from bn_core; these functions lay them out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import BatchNorm, keras
from bn_core.batches import population_stats
from bn_core.batchnorm import pytorch_to_keras_momentum, single_value_message, values_per_channel
from bn_core.histogram import bins_for, histogram, mapped_histogram
from bn_core.running import settles_at
from lessons.bn_lab.lab import Fed, Lab
from ui import charts
from ui.i18n import num, t

AXIS = (-4.0, 4.0)  # the histograms' axis unless the data reach beyond it


def refusal(message: str, shape: tuple[int, ...]) -> None:
    """PyTorch's error, word for word, and the ways out that fit it."""
    st.warning(t("bn_lab.refused"), icon=":material/block:")
    st.code(f"ValueError: {message}", language=None, wrap_lines=True)
    st.markdown(t("bn_lab.ways_out" if message == single_value_message(shape) else "bn_lab.eps_way_out"))


def before_after(
    x: np.ndarray, y: np.ndarray | None, layer: BatchNorm | None, training: bool, ch: int, nan_note: bool = True
) -> None:
    """Histograms of channel ch before and after. The input's bins span its values; the output
    is binned with those edges mapped through the layer's per-channel map (the identity without
    a layer), so both show the same shape. Each axis is a stable (-4, 4), widened to its data."""
    left, right = st.columns(2)
    values = x[:, ch]
    before = histogram(values, bins_for(values.size), (float(values.min()), float(values.max())))
    left.plotly_chart(
        charts.histogram_figure(
            before,
            title=t("bn_lab.before", ch=ch),
            x_title="x",
            y_title=t("common.share"),
            name="x",
            color=charts.PALETTE["ghost"],
            x_range=charts.display_range(before.edges, base=AXIS),
        ),
        key="bnlab.chart_before",
    )
    if y is None:
        right.info(t("bn_lab.no_output"), icon=":material/block:")
        return
    scale, shift = layer.affine_map(x, training) if layer else (np.ones(x.shape[1]), np.zeros(x.shape[1]))
    after = None
    if np.ptp(values) > 0:  # one repeated value is a spike either way; its bins need no mapping
        after = mapped_histogram(y[:, ch], before, scale[ch], shift[ch])
    after = after or charts.binned(y[:, ch], base=AXIS)
    right.plotly_chart(
        charts.histogram_figure(
            after,
            title=t("bn_lab.after", ch=ch),
            x_title="y",
            y_title=t("common.share"),
            name="y",
            x_range=charts.display_range(after.edges, base=AXIS),
        ),
        key="bnlab.chart_after",
    )
    if nan_note and np.isnan(y).any():
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
    pytorch_m = lab.momentum if lab.conv == "pytorch" else pytorch_to_keras_momentum(lab.momentum)
    frozen = lab.momentum_or_none is not None and pytorch_m == 0  # a new batch weighs nothing
    if frozen:
        st.info(t("bn_lab.running_frozen"), icon=":material/ac_unit:")
    settle = (
        []
        if frozen
        else [
            (target_mean[ch], t("bn_lab.settle_mean", v=num(target_mean[ch], ".3g"))),
            (target_var[ch], t("bn_lab.settle_var", v=num(target_var[ch], ".3g"))),
        ]
    )
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
            hlines=settle,
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
    if not frozen:
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
        keras_m = pytorch_to_keras_momentum(pytorch_m)  # the map is its own inverse
        st.caption(t("bn_lab.translator", pt=num(round(pytorch_m, 6), "g"), keras=num(round(keras_m, 6), "g")))


def table_note(training: bool, refused: bool) -> str:
    if refused:
        return "bn_lab.table_note_refused"
    return "bn_lab.table_note_updated" if training else "bn_lab.table_note_eval"


def eps_outcome(x: np.ndarray, y: np.ndarray, mean: np.ndarray, var: np.ndarray, layer: BatchNorm, ch: int) -> None:
    """The channel's first value through the layer, in the framework's own arithmetic, and why it comes out so."""
    first = (0, ch) + (0,) * (x.ndim - 2)
    m, v, y0 = float(mean[ch]), float(var[ch]), float(y[first])
    centered = float(x[first]) - m
    dtype = keras.COMPUTE_DTYPE if layer.convention == "keras" else str(x.dtype)
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
    gamma = 1.0 if layer.gamma is None else float(layer.gamma[ch])
    beta = 0.0 if layer.beta is None else float(layer.beta[ch])
    denominator = v + layer.eps
    root = math.sqrt(max(denominator, 0.0))
    if denominator < 0:
        case = "negative"
    elif denominator == 0:
        case = "zero_over_zero" if centered == 0 else "over_zero"
    elif v >= 1e-6 * max(m * m, 1e-30):  # a real spread: nothing made of rounding to explain
        return
    elif y0 == beta:  # a constant channel, and the rounding came out even
        if layer.eps > 0:
            return
        case = "rounding_zero"
    elif centered != 0:
        case = "rounding" if layer.eps == 0 else "mean_off"
    else:  # x − μ = 0 and still not β: PyTorch's fold y = x·a + (β − μ·a) rounds twice
        case = "fold"
    a = gamma / root if root > 0 else math.inf
    step = float(np.spacing(np.float32(abs(float(x[first]) * a)))) if math.isfinite(a) else math.nan
    st.info(
        t(
            f"bn_lab.eps_case_{case}",
            y=num(y0, ".4g"),
            diff=num(centered, ".3g"),
            root=num(root, ".3g"),
            beta=num(beta, "g"),
            a=num(a, ".5g"),
            step=num(step, ".2g"),
        ),
        icon=":material/calculate:",
    )
