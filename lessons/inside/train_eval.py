"""Section `stats`: training normalizes with the batch's statistics, inference with running ones.
A live pair on the digit model (stats_live), then the mechanism on one unit (bn_core.drift)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bn_core import drift
from lessons.inside import stats_live
from ui import charts
from ui.controls import short
from ui.i18n import num, t
from ui.state import Param

LR_OPTIONS = (0.01, 0.03, 0.1, 0.3)
PARAMS = (
    *stats_live.PARAMS,
    Param("steps", "inside.steps", 300, kind="int", lo=50, hi=1000),
    Param("lr", "inside.lr", 0.1, lo=0.01, hi=0.3, options=LR_OPTIONS),
    Param("sb", "inside.stats_b", 32, kind="int", lo=2, hi=128),
    Param("sseed", "inside.stats_seed", 0, kind="int", lo=0, hi=2**31 - 1),
)
WINDOW = 20  # steps per point of the loss curve


@st.cache_data(max_entries=16, show_spinner=False)
def runs(steps: int, lr: float, batch_size: int, seed: int) -> dict[str, drift.Drift]:
    return {mode: drift.train_unit(mode, steps, lr, batch_size, seed=seed) for mode in drift.MODES}


def controls() -> None:
    """In one row: this section's charts need the page's full width."""
    steps, lr, size, seed = st.columns(4)
    steps.slider(t("inside.steps"), 50, 1000, step=50, key="inside.steps")
    lr.select_slider(t("inside.lr"), LR_OPTIONS, format_func=short, key="inside.lr")
    size.slider(t("inside.n"), 2, 128, key="inside.stats_b")
    seed.number_input(t("inside.seed"), 0, 2**31 - 1, step=1, key="inside.stats_seed")


def show() -> None:
    stats_live.controls()
    every = stats_live.poll_seconds()
    with st.container(key="inside.pair_view"):  # the section's main picture: under its buttons, above the fold
        if every:  # polled while the pair trains; otherwise no fragment at all, so that the browser drops its timer
            st.fragment(stats_live.live, run_every=every)()  # (Reset reruns only the lesson's part, not the page)
        else:
            stats_live.live()
    stats_live.results()
    with st.expander(t("inside.stats_why_title")):  # the set-up and the measured spread, for who wants them
        st.markdown(t("inside.stats_intro"))
    stats_live.code()
    st.subheader(t("inside.unit_title"))
    st.markdown(t("inside.unit_intro"))
    unit()


def unit() -> None:
    """The mechanism on one unit x = w·u + b: the parameters drift with running statistics."""
    s = st.session_state
    controls()
    result = runs(s["inside.steps"], s["inside.lr"], s["inside.stats_b"], s["inside.stats_seed"])
    batch, running = result["batch"], result["running"]
    steps = np.arange(batch.w.size)
    left, right = st.columns(2)
    left.plotly_chart(
        charts.lines_figure(
            steps,
            [
                (t("inside.w_batch"), batch.w, "solid"),
                (t("inside.b_batch"), batch.b, "dash"),
                (t("inside.w_running"), running.w, "solid"),
                (t("inside.b_running"), running.b, "dash"),
            ],
            title=t("inside.params_chart"),
            x_title=t("inside.step_axis"),
            y_title="",
            legend_below=True,  # four names in half the width: above, they wrap onto the title
        ),
        key="inside.chart_params",
    )
    right.plotly_chart(
        charts.lines_figure(
            np.arange(WINDOW, batch.loss.size + 1),
            [
                (t("inside.mode_batch"), drift.moving_average(batch.loss, WINDOW), "solid"),
                (t("inside.mode_running"), drift.moving_average(running.loss, WINDOW), "solid"),
            ],
            title=t("inside.loss_chart", window=WINDOW),
            x_title=t("inside.step_axis"),
            y_title=t("inside.loss"),
            legend_below=True,
        ),
        key="inside.chart_loss",
    )
    tail = max(1, batch.loss.size // 3)
    st.markdown(
        t(
            "inside.stats_result",
            w=num(running.w[-1], ".2f"),
            b=num(running.b[-1], ".2f"),
            w0=num(batch.w[-1], ".2f"),
            b0=num(abs(batch.b[-1]), ".0f"),
            loss_batch=num(batch.loss[-tail:].mean(), ".2f"),
            loss_running=num(running.loss[-tail:].mean(), ".2f"),
        )
    )
