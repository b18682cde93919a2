"""Section `devices`: each device's own statistics against SyncBatchNorm's merged ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import sync
from bn_core.batchnorm import batch_stats
from lessons.inside import code, figures
from ui import charts
from ui.code import code_for_this
from ui.controls import decimal_slider
from ui.frame import beside_controls
from ui.i18n import num, t
from ui.state import Param

PARAMS = (
    Param("k", "inside.devices", 4, kind="int", lo=1, hi=8),
    Param("b", "inside.per_device", 4, kind="int", lo=1, hi=64),
    Param("shift", "inside.shift", 0.0, lo=0.0, hi=3.0),
    Param("dseed", "inside.devices_seed", 0, kind="int", lo=0, hi=2**31 - 1),
)
SIZES = np.arange(1, 65)  # per-device batch sizes in the spread chart
TRIALS = 2000


@st.cache_data(max_entries=4, show_spinner=False)
def spread() -> sync.Spread:
    return sync.estimate_spread(SIZES, TRIALS, seed=0)


def controls() -> None:
    st.slider(t("inside.devices"), 1, 8, key="inside.devices")
    st.slider(t("inside.per_device"), 1, 64, key="inside.per_device")
    decimal_slider(t("inside.shift"), 0.0, 3.0, 0.1, key="inside.shift", help=t("inside.shift_help"))
    st.number_input(t("inside.seed"), 0, 2**31 - 1, step=1, key="inside.devices_seed")


def show() -> None:
    s = st.session_state
    view = beside_controls(controls)
    k, b = s["inside.devices"], s["inside.per_device"]
    shards = sync.device_batches(k, b, 1, s["inside.shift"], s["inside.devices_seed"])
    parts = [sync.moments(x) for x in shards]
    merged, naive = sync.merge(parts), sync.naive_merge(parts)
    whole_mean, whole_var = batch_stats(np.concatenate(shards), axis=1)
    with view:
        st.markdown(t("inside.devices_intro"))
        names = {key: t(f"inside.dev_{key}") for key in ("mean", "var", "sync_mean", "sync_var", "naive")}
        figure = figures.devices_figure(
            np.array([p.mean[0] for p in parts]),
            np.array([p.var[0] for p in parts]),
            synced=(float(merged.mean[0]), float(merged.var[0])),
            naive_var=float(naive.var[0]),
            names=names,
            title=t("inside.devices_chart", k=k, b=b),
            x_title=t("inside.device"),
        )
        st.plotly_chart(figure, key="inside.chart_devices")
        table(parts, merged, naive, (float(whole_mean[0]), float(whole_var[0])))
        if b == 1:
            st.info(t("inside.one_per_device", k=k), icon=":material/info:")
        source = code.devices_script(k, b, s["inside.shift"], s["inside.devices_seed"])
        code_for_this(source, "inside_devices.py", key="inside.devices_code")
    spread_chart(k, b)


def table(parts, merged: sync.Moments, naive: sync.Moments, whole: tuple[float, float]) -> None:
    rows = [(t("inside.device_n", d=d), p.count, p.mean[0], p.var[0]) for d, p in enumerate(parts)]
    rows += [
        (t("inside.row_sync"), merged.count, merged.mean[0], merged.var[0]),
        (t("inside.row_whole"), merged.count, *whole),
        (t("inside.row_naive"), naive.count, naive.mean[0], naive.var[0]),
    ]
    frame = pd.DataFrame(
        {
            t("inside.col_stats"): [r[0] for r in rows],
            t("inside.col_count"): [r[1] for r in rows],
            t("inside.col_mean"): [num(r[2], ".4f") for r in rows],
            t("inside.col_var"): [num(r[3], ".4f") for r in rows],
        }
    )
    st.table(frame, hide_index=True)  # a static table: its long row names wrap instead of being cut
    diff = max(abs(merged.mean[0] - whole[0]), abs(merged.var[0] - whole[1]))
    same = t("inside.devices_same_rounding", diff=num(diff, ".1e")) if diff else t("inside.devices_same_exact")
    st.caption(t("inside.devices_note", same=same, miss=num(merged.var[0] - naive.var[0], ".4f")))
    st.latex(
        r"\mu = \frac{\sum_d n_d\,\mu_d}{\sum_d n_d},\qquad "
        r"\sigma^2 = \frac{\sum_d n_d\left(\sigma_d^2 + (\mu_d - \mu)^2\right)}{\sum_d n_d}"
    )


def spread_chart(k: int, b: int) -> None:
    st.subheader(t("inside.spread_title"))
    result = spread()
    figure = charts.lines_figure(
        result.sizes,
        [
            (t("inside.spread_mean"), result.mean_error, "solid"),
            (t("inside.spread_var"), result.var_error, "dash"),
            (t("inside.spread_theory"), 1 / np.sqrt(result.sizes), "dot"),
        ],
        title=t("inside.spread_chart"),
        x_title=t("inside.per_device"),
        y_title=t("inside.spread_y"),
        legend_below=True,
    )
    st.plotly_chart(figure, key="inside.chart_spread")
    at = int(np.searchsorted(result.sizes, b))
    st.markdown(
        t(
            "inside.spread_text",
            b=b,
            k=k,
            kb=k * b,
            mean_sd=num(result.mean_error[at], ".3f"),
            var_sd=num(result.var_error[at], ".3f"),
            sync_sd=num(1 / np.sqrt(k * b), ".3f"),
            trials=num(TRIALS, ",d"),
        )
    )
