"""Section `smooth`: Santurkar et al. (2018) on the digit model: how much the loss and its
gradient change along the gradient, with BN, without, and with noisy BN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core.smoothness import SmoothnessConfig
from lessons.experiments import common, figures
from ui.frame import beside_controls
from ui.i18n import num, nums, pct, t
from ui.state import Param

DEFAULT = SmoothnessConfig()
LR_OPTIONS = (0.05, 0.1, 0.2)
NOISE_OPTIONS = (0.0, 0.5, 1.0, 2.0)
PARAMS = (
    Param("smlr", "exp.smooth_lr", DEFAULT.lr, lo=0.05, hi=0.2, options=LR_OPTIONS, label="experiments.smooth_lr"),
    Param(
        "nmean",
        "exp.noise_mean",
        DEFAULT.noise_mean,
        lo=0.0,
        hi=2.0,
        options=NOISE_OPTIONS,
        label="experiments.noise_mean",
    ),  # fmt: skip
    Param(
        "nstd", "exp.noise_std", DEFAULT.noise_std, lo=0.0, hi=2.0, options=NOISE_OPTIONS, label="experiments.noise_std"
    ),  # fmt: skip
)
MEASURES = ("loss_range", "grad_change", "beta")


def chosen() -> SmoothnessConfig:
    s = st.session_state
    return SmoothnessConfig(
        lr=float(s["exp.smooth_lr"]), noise_mean=float(s["exp.noise_mean"]), noise_std=float(s["exp.noise_std"])
    )


def controls() -> None:
    st.select_slider(t("experiments.smooth_lr"), LR_OPTIONS, key="exp.smooth_lr")
    st.select_slider(t("experiments.noise_mean"), NOISE_OPTIONS, key="exp.noise_mean", help=t("experiments.noise_help"))
    st.select_slider(t("experiments.noise_std"), NOISE_OPTIONS, key="exp.noise_std", help=t("experiments.noise_help"))


def show() -> None:
    config = chosen()
    result, source = common.result_for("smoothness", config)

    def panel() -> None:
        controls()
        common.run_panel("smoothness", config, result is not None)

    with beside_controls(panel):
        common.source_note(source, "smoothness")
        drawn = result if result is not None else common.shipped("smoothness")
        draw(drawn)
        common.script_of("smoothness", drawn.config)


def variant_name(variant: str) -> str:
    return t(f"experiments.variant_{variant}")


def draw(result) -> None:
    variants = result.config.variants
    steps = result.steps
    left, right = st.columns(2)
    left.plotly_chart(
        figures.over_steps(
            steps,
            [],
            bands=[(variant_name(v), v, np.array(result.loss_low[v]), np.array(result.loss_high[v])) for v in variants],
            title=t("experiments.loss_range_title"),
            x_title=t("train.step_axis"),
            y_title=t("experiments.loss_axis"),
            log_y=True,
        ),
        key="exp.chart_loss_range",
    )
    # the other three: one line per variant of a per-step measure (series, title, y axis, log scale, key)
    lines = (
        (result.grad_change, t("experiments.grad_title"), "‖∇L(x) − ∇L(x − η∇L)‖", True, "exp.chart_grad"),
        (result.beta, t("experiments.beta_title"), "β", True, "exp.chart_beta"),
        (result.unit_mean, t("experiments.unit_title"), t("experiments.unit_axis"), False, "exp.chart_unit"),
    )
    places = [right, *st.columns(2)]
    for place, (series, title, y_title, log_y, key) in zip(places, lines, strict=True):
        place.plotly_chart(
            figures.over_steps(
                steps,
                [(variant_name(v), v, np.array(series[v])) for v in variants],
                title=title,
                x_title=t("train.step_axis"),
                y_title=y_title,
                log_y=log_y,
            ),
            key=key,
        )
    st.caption(t("experiments.smooth_note"))
    # a row per measure, a column per network (three columns fit the width in every language): per seed the
    # measure's median over its run, shown as the mean over the seeds and their range
    rows = [t(f"experiments.median_{name}") for name in MEASURES] + [t("experiments.val_accuracy")]
    table = {"": rows}
    for v in variants:
        cells = [spread_of(result.medians[name][v], ".3g") for name in MEASURES]
        table[variant_name(v)] = [*cells, spread_of(result.accuracy[v], None)]
    st.table(pd.DataFrame(table), hide_index=True)  # static: long cells wrap instead of being cut (ru, zh)
    st.markdown(t("experiments.smooth_text", etas=nums(result.config.etas)))
    if all(v in variants for v in ("none", "batch", "noisy")):
        n = len(result.config.seeds)
        st.markdown(
            t(
                "experiments.smooth_numbers",
                n=n,
                k=result.lower_in("loss_range", "batch", "none"),
                k_grad=result.lower_in("grad_change", "batch", "none"),
                k_beta=result.lower_in("beta", "batch", "none"),
                acc_bn=common.mean_and_range(result.accuracy["batch"]),
                acc_noisy=common.mean_and_range(result.accuracy["noisy"]),
                acc_none=common.mean_and_range(result.accuracy["none"]),
            )
        )
        st.markdown(t("experiments.smooth_conclusion", k=sum(result.trains_like("noisy", "batch")), n=n))


def spread_of(values, spec: str | None) -> str:
    """The mean over the seeds and their range, with ``spec`` (None: a percentage)."""
    values = np.asarray(values, np.float64)
    show = pct if spec is None else (lambda v: num(v, spec))
    return f"{show(values.mean())} ({show(values.min())}–{show(values.max())})"
