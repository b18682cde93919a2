"""Section `noise`: the same sample in different batches, and dropout before BN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import noise
from bn_core.histogram import histogram
from lessons.inside import code
from ui import charts
from ui.code import code_for_this
from ui.controls import decimal_slider
from ui.frame import beside_controls
from ui.i18n import num, t
from ui.state import Param

PARAMS = (
    Param("nb", "inside.noise_b", 8, kind="int", lo=2, hi=256),
    Param("x0", "inside.x0", 1.0, lo=-3.0, hi=3.0),
    Param("nseed", "inside.noise_seed", 0, kind="int", lo=0, hi=2**31 - 1),
    Param("p", "inside.dropout", 0.5, lo=0.0, hi=0.8),
    Param("dmu", "inside.drop_mu", 1.0, lo=0.0, hi=3.0),
)
TRIALS = 2000
SIZES = (2, 4, 8, 16, 32, 64, 128, 256)
TABLE_P = (0.0, 0.1, 0.2, 0.3, 0.5)


@st.cache_data(max_entries=128, show_spinner=False)  # 8 numbers each: every x0 the slider offers (61), two seeds
def by_size(x0: float, seed: int) -> np.ndarray:
    return noise.noise_by_batch_size(x0, SIZES, TRIALS, seed)


@st.cache_data(max_entries=16, show_spinner=False)
def outputs_of(x0: float, b: int, seed: int) -> np.ndarray:
    return noise.same_sample_outputs(x0, b, TRIALS, seed)


# Six of these (the current p and the table's five) for every new mean: a few hundred bytes each,
# so the cache holds every (p, mean) pair the sliders offer (17 x 31), and the table's for a few seeds.
@st.cache_data(max_entries=1024, show_spinner=False)
def shift(p: float, mu: float, seed: int) -> noise.VarianceShift:
    return noise.variance_shift(p, mu, 1.0, seed=seed)


def controls() -> None:
    st.slider(t("inside.noise_b"), 2, 256, key="inside.noise_b")
    decimal_slider(t("inside.x0"), -3.0, 3.0, 0.1, key="inside.x0")
    st.number_input(t("inside.seed"), 0, 2**31 - 1, step=1, key="inside.noise_seed")
    st.divider()
    decimal_slider(t("inside.dropout"), 0.0, 0.8, 0.05, key="inside.dropout")
    decimal_slider(t("inside.drop_mu"), 0.0, 3.0, 0.1, key="inside.drop_mu")


def show() -> None:
    view = beside_controls(controls)
    with view:
        same_sample()
        dropout_shift()
        s = st.session_state
        keys = ("noise_b", "x0", "noise_seed", "dropout", "drop_mu")
        source = code.noise_script(*(s[f"inside.{k}"] for k in keys), trials=TRIALS)
        code_for_this(source, "inside_noise.py", key="inside.noise_code")


def same_sample() -> None:
    s = st.session_state
    b, x0, seed = s["inside.noise_b"], s["inside.x0"], s["inside.noise_seed"]
    st.subheader(t("inside.noise_title"))
    outputs = outputs_of(x0, b, seed)
    spread = by_size(x0, seed)
    left, right = st.columns(2)
    hist = histogram(outputs, 60, charts.display_range(outputs, base=(x0 - 3.0, x0 + 3.0)))
    left.plotly_chart(
        charts.histogram_figure(
            hist,
            title=t("inside.noise_chart", b=b),
            x_title=t("inside.noise_x"),
            y_title=t("inside.noise_share"),
            name="y",
            cut=x0,
            cut_label=t("inside.noise_cut"),
            height=320,
        ),
        key="inside.chart_same_sample",
    )
    sizes = np.array(SIZES)
    right.plotly_chart(
        charts.lines_figure(
            sizes,
            [
                (t("inside.noise_measured"), spread, "solid"),
                (t("inside.noise_theory"), np.sqrt((1 + x0**2 / 2) / sizes), "dot"),
            ],
            title=t("inside.noise_by_b"),
            x_title=t("inside.noise_b"),
            y_title=t("inside.spread_y"),
            log_y=True,
            legend_below=True,
        ),
        key="inside.chart_noise_by_b",
    )
    st.markdown(t("inside.noise_text", b=b, x0=num(x0, ".1f"), sd=num(outputs.std(), ".3f"), trials=num(TRIALS, ",d")))


def dropout_shift() -> None:
    s = st.session_state
    p, mu = s["inside.dropout"], s["inside.drop_mu"]
    st.subheader(t("inside.drop_title"))
    now = shift(p, mu, s["inside.noise_seed"])
    cols = st.columns(3)
    cols[0].metric(t("inside.drop_running"), num(now.running_var, ".3f"))
    cols[1].metric(t("inside.drop_eval_var"), num(now.eval_var, ".3f"))
    cols[2].metric(t("inside.drop_out_std"), num(now.eval_output_std, ".3f"))
    rows = [shift(q, mu, s["inside.noise_seed"]) for q in TABLE_P]
    frame = pd.DataFrame(
        {
            "p": [num(r.p, ".1f") for r in rows],
            t("inside.drop_running"): [num(r.running_var, ".3f") for r in rows],
            t("inside.drop_theory"): [num(r.train_var_theory, ".3f") for r in rows],
            t("inside.drop_eval_var"): [num(r.eval_var, ".3f") for r in rows],
            t("inside.drop_out_std"): [num(r.eval_output_std, ".3f") for r in rows],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="inside.dropout_table")
    st.markdown(t("inside.drop_text", mu=num(mu, ".1f")))
