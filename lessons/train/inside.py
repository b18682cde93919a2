"""The `train` lesson's "inside the network" tab: each hidden layer's values entering and
leaving its normalization over training, a pair of runs on the same axes."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bn_core import train as tr
from lessons.train import figures
from lessons.train.settings import norm_name
from serve.records import RunView
from ui import charts
from ui.i18n import num, t


def inside(views: list[RunView]) -> None:
    runs = [(norm_name(v.config.norm), v.config.norm, v.history) for v in views if v.history.measures]
    if not runs:
        st.info(t("train.no_results"), icon=":material/info:")
        return
    config = views[0].config
    st.markdown(t("train.inside_intro"))
    layers = len(config.widths)
    left, right = st.columns(2)
    layer = left.radio(
        t("train.layer"), range(layers), format_func=lambda i: str(i + 1), horizontal=True, key="train.layer"
    )
    unit = right.radio(t("train.unit"), range(tr.PROBE_UNITS), horizontal=True, key="train.unit")
    layer, unit = min(layer, layers - 1), min(unit, tr.PROBE_UNITS - 1)
    titles = (t("train.entering"), t("train.leaving"))
    cols = st.columns(2)
    for stage, column in enumerate(cols):
        series = [
            figures.Series(
                name,
                norm,
                h.measured("step"),
                np.array([m.quantiles[layer, stage, unit] for m in h.measures]),
            )
            for name, norm, h in runs
        ]
        fig = figures.bands(series, title=titles[stage], x_title=t("train.step_axis"), y_title=t("train.value"))
        column.plotly_chart(fig, key=f"train.bands_{stage}")

    kept = sorted(set.intersection(*[{m.step for m in h.measures if m.samples is not None} for _, _, h in runs]))
    if not kept:
        return
    step = st.select_slider(
        t("train.hist_step"), kept, value=kept[-1], format_func=lambda s: num(s, ",d"), key=f"train.hist_{kept[-1]}"
    )
    cols = st.columns(2)
    for stage, column in enumerate(cols):
        samples = [(name, norm, snapshot(h, step)[layer, stage, :, unit]) for name, norm, h in runs]
        fig = figures.histograms(
            samples,
            title=t("train.hist_title", what=titles[stage], step=num(step, ",d")),
            x_title=t("train.value"),
            y_title=t("common.share"),
        )
        column.plotly_chart(fig, key=f"train.histogram_{stage}")
    running(views)


def snapshot(history: tr.History, step: int) -> np.ndarray:
    return next(m.samples for m in history.measures if m.step == step and m.samples is not None)


def running(views: list[RunView]) -> None:
    """BatchNorm's running statistics per epoch, for the runs that keep them."""
    for v in views:
        h = v.history
        if not h.epochs or h.epochs[0].running_mean is None:
            continue
        x = h.column("epoch")
        series = [(f"μ {i}", np.array([e.running_mean[i] for e in h.epochs]), "solid") for i in range(tr.PROBE_UNITS)]
        series += [(f"σ² {i}", np.array([e.running_var[i] for e in h.epochs]), "dot") for i in range(tr.PROBE_UNITS)]
        st.plotly_chart(
            charts.lines_figure(
                x, series, title=t("train.running"), x_title=t("train.epoch"), y_title=t("train.value")
            ),
            key=f"train.running_{v.run_id}",
        )
