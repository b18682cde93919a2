"""The sections of the `bn-lab` lesson. Numbers come from bn_core; this module only lays them out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import BatchNorm, reduced_axes
from bn_core.batches import population_stats
from bn_core.batchnorm import pytorch_to_keras_momentum, values_per_channel
from bn_core.running import RunningTrace
from ui import charts
from ui.i18n import t

PUZZLE_X = np.float32(-0.22630838)  # the value from a user's question about tf.keras


def run_layer(layer: BatchNorm, x: np.ndarray, training: bool) -> tuple[np.ndarray | None, str | None]:
    """The layer's output, or None and the framework's refusal (PyTorch raises ValueError)."""
    try:
        return layer(x, training=training), None
    except ValueError as refusal:
        return None, str(refusal)


def refusal(message: str) -> None:
    st.warning(t("bn_lab.refused"), icon=":material/block:")
    st.code(f"ValueError: {message}", language=None)
    st.markdown(t("bn_lab.ways_out"))


def before_after(x: np.ndarray, y: np.ndarray | None, ch: int) -> None:
    left, right = st.columns(2)
    left.plotly_chart(
        charts.histogram_figure(
            charts.binned(x[:, ch], base=(-4.0, 4.0)),
            title=t("bn_lab.before", ch=ch),
            x_title="x",
            y_title=t("common.share"),
            name="x",
            color=charts.PALETTE["ghost"],
        ),
        key="bnlab.chart_before",
    )
    if y is None:
        right.info(t("bn_lab.no_output"), icon=":material/block:")
        return
    right.plotly_chart(
        charts.histogram_figure(
            charts.binned(y[:, ch], base=(-4.0, 4.0)),
            title=t("bn_lab.after", ch=ch),
            x_title="y",
            y_title=t("common.share"),
            name="y",
        ),
        key="bnlab.chart_after",
    )
    if not np.isfinite(y).all():
        st.warning(t("bn_lab.nan"), icon=":material/warning:")


def stats_table(stats: tuple[np.ndarray, np.ndarray], layer: BatchNorm, updated: bool) -> None:
    mean, var = stats
    table = pd.DataFrame(
        {
            t("bn_lab.col_channel"): range(len(mean)),
            t("bn_lab.col_batch_mean"): mean,
            t("bn_lab.col_batch_var"): var,
            t("bn_lab.col_running_mean"): layer.running_mean,
            t("bn_lab.col_running_var"): layer.running_var,
        }
    )
    st.markdown(f"**{t('bn_lab.table')}**")
    st.dataframe(table, hide_index=True, width="stretch", key="bnlab.table")
    st.caption(t("bn_lab.table_note_updated" if updated else "bn_lab.table_note"))


def formula(
    x: np.ndarray, y: np.ndarray, stats: tuple[np.ndarray, np.ndarray], layer: BatchNorm, training: bool, ch: int
) -> None:
    """The layer's formula with this batch's numbers, for the channel's first value; y is the layer's output."""
    mean, var = stats if training else (layer.running_mean, layer.running_var)
    first = (0, ch) + (0,) * (x.ndim - 2)
    x0, y0 = float(x[first]), float(y[first])
    g, b, m, v, e = float(layer.gamma[ch]), float(layer.beta[ch]), float(mean[ch]), float(var[ch]), layer.eps
    mu, s2 = (r"\mu_B", r"\sigma_B^2") if training else (r"\mu_{run}", r"\sigma_{run}^2")
    st.markdown(f"**{t('bn_lab.formula', ch=ch)}**")
    st.latex(
        rf"y = \gamma\,\frac{{x - {mu}}}{{\sqrt{{{s2} + \varepsilon}}}} + \beta"
        rf" = {tex(g)}\cdot\frac{{{tex(x0)} - ({tex(m)})}}{{\sqrt{{{tex(v)} + {tex(e)}}}}} + ({tex(b)}) = {tex(y0)}"
    )


def tex(value: float) -> str:
    """A number for LaTeX: 4 significant digits, powers of ten written as such."""
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = rf"10^{{{int(exponent)}}}"
        return power if mantissa == "1" else rf"{mantissa}\cdot {power}"
    return text


def running_section(trace: RunningTrace, shape, dist, mu, sd, conv, momentum, cma, ch) -> None:
    st.subheader(t("bn_lab.running_title"))
    steps = np.arange(trace.running_mean.shape[0])
    if steps.size < 2:
        st.info(t("bn_lab.running_none"), icon=":material/info:")
        return
    pop_mean, pop_var = population_stats(shape[1], dist, mu, sd)
    n = values_per_channel(shape, 1)
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
            hlines=[(pop_mean[ch], t("bn_lab.pop_mean")), (pop_var[ch], t("bn_lab.pop_var"))],
        ),
        key="bnlab.chart_running",
    )
    right.plotly_chart(
        charts.lines_figure(
            steps[1:],
            [(t("bn_lab.gap"), trace.gap, "solid")],
            title=t("bn_lab.gap_chart"),
            x_title=t("bn_lab.batches"),
            y_title="",
            log_y=bool(np.all(trace.gap > 0)),
        ),
        key="bnlab.chart_gap",
    )
    if cma:
        st.caption(t("bn_lab.cma_note"))
    else:
        pytorch_m = momentum if conv == "pytorch" else pytorch_to_keras_momentum(momentum)  # the map is its own inverse
        st.caption(t("bn_lab.translator", pt=f"{pytorch_m:.2f}", keras=f"{pytorch_to_keras_momentum(pytorch_m):.2f}"))
    if n > 1:
        st.caption(t("bn_lab.unbiased_note", n=n, factor=f"{n / (n - 1):.4f}"))


def batch_of_one(shape: tuple[int, ...], axis: int) -> None:
    with st.expander(t("bn_lab.one_title"), expanded=shape[0] == 1):
        axes = reduced_axes(len(shape), axis)
        count = values_per_channel(shape, axis)
        st.markdown(t("bn_lab.one_now", shape=str(shape), axes=str(axes), count=count))
        st.markdown(t("bn_lab.one_text"))


def keras_puzzle() -> None:
    """Every number here is computed by the engine under the keras convention."""
    with st.expander(t("bn_lab.puzzle_title")):
        st.markdown(t("bn_lab.puzzle_question", x=str(PUZZLE_X)))

        def fresh(momentum: float = 0.99) -> BatchNorm:
            return BatchNorm(1, convention="keras", momentum=momentum)

        x = np.array([PUZZLE_X], dtype=np.float32)
        rows = [
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


def epsilon(stats: tuple[np.ndarray, np.ndarray], layer: BatchNorm, ch: int) -> None:
    with st.expander(t("bn_lab.eps_title")):
        var = float(stats[1][ch])
        denominator = var + layer.eps
        share = layer.eps / denominator if denominator > 0 else float("nan")
        st.markdown(t("bn_lab.eps_now", ch=ch, var=f"{var:.3g}", eps=f"{layer.eps:g}", share=f"{share:.1%}"))
        st.markdown(t("bn_lab.eps_text"))
