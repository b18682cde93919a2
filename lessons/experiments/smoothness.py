"""Section `smooth`: Santurkar et al. (2018) on the digit model: how much the loss and its
gradient change along the gradient, with BN, without, and with noisy BN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core.smoothness import SmoothnessConfig
from lessons.experiments import common, figures
from ui.controls import short
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
# what the large chart shows: one of the three measures of smoothness, or one unit's batch mean (the stability
# of the distributions, which noisy BatchNorm removes); the lead line is about the gradient change
VIEWS = ("grad_change", "loss_range", "beta", "unit_mean")
VIEW = Param(
    "smview", "exp.smooth_view", VIEWS[0], kind="choice", choices=VIEWS, label="experiments.smooth_view",
    show=lambda v: t(f"experiments.view_{v}"),
)  # fmt: skip
PARAMS = (*PARAMS, VIEW)


def chosen() -> SmoothnessConfig:
    s = st.session_state
    return SmoothnessConfig(
        lr=float(s["exp.smooth_lr"]), noise_mean=float(s["exp.noise_mean"]), noise_std=float(s["exp.noise_std"])
    )


def controls() -> None:
    st.select_slider(t("experiments.smooth_lr"), LR_OPTIONS, format_func=short, key="exp.smooth_lr")
    st.select_slider(
        t("experiments.noise_mean"),
        NOISE_OPTIONS,
        format_func=short,
        key="exp.noise_mean",
        help=t("experiments.noise_help"),
    )
    st.select_slider(
        t("experiments.noise_std"),
        NOISE_OPTIONS,
        format_func=short,
        key="exp.noise_std",
        help=t("experiments.noise_help"),
    )


def show() -> None:
    config = chosen()
    result, source = common.result_for("smoothness", config)

    def panel() -> None:
        controls()
        common.run_panel("smoothness", config, result is not None)

    with beside_controls(panel):
        common.defaults_note(source)
        drawn = result if result is not None else common.shipped("smoothness")
        draw(drawn, current=result is not None)
        common.source_note(source, "smoothness")
        common.script_of("smoothness", drawn.config)


def variant_name(variant: str) -> str:
    return t(f"experiments.variant_{variant}")


def view_name(view: str) -> str:
    return t(f"experiments.view_{view}")


def over_steps(result, view: str):
    """The chosen measure over the first seed's run, one line (or band) per network."""
    variants, steps = result.config.variants, result.steps
    common_args = dict(x_title=t("train.step_axis"), height=460)
    if view == "loss_range":
        bands = [(variant_name(v), v, np.array(result.loss_low[v]), np.array(result.loss_high[v])) for v in variants]
        title, y_title = t(f"experiments.title_{view}"), t("experiments.loss_axis")
        return figures.over_steps(steps, [], bands=bands, title=title, y_title=y_title, log_y=True, **common_args)
    y_title, log_y = {
        "grad_change": ("‖∇L(x) − ∇L(x − η∇L)‖", True),
        "beta": ("β", True),
        "unit_mean": (t("experiments.unit_axis"), False),
    }[view]
    series = [(variant_name(v), v, np.array(getattr(result, view)[v])) for v in variants]
    title = t(f"experiments.title_{view}")
    return figures.over_steps(steps, series, title=title, y_title=y_title, log_y=log_y, **common_args)


def per_seed(result, view: str):
    """Each seed's median of the chosen measure over its run; for the unit's mean, each seed's accuracy at the end
    (what its instability does to training)."""
    variants = result.config.variants
    if view in MEASURES:
        rows = [(variant_name(v), v, result.medians[view][v]) for v in variants]
        title = t("experiments.seeds_median_title", measure=view_name(view), n=len(result.config.seeds))
        return figures.seeds(rows, title=title, x_title=t(f"experiments.median_{view}"), log_x=True)
    rows = [(variant_name(v), v, result.accuracy[v]) for v in variants]
    title = t("experiments.seeds_accuracy_title", n=len(result.config.seeds))
    return figures.seeds(rows, title=title, x_title=t("experiments.val_accuracy"), percent=True)


def draw(result, current: bool = True) -> None:
    """The result's charts, and, if it is the result of the settings chosen (``current``), what it shows in words
    (while the defaults stand in for settings nobody has computed, their numbers would read as the student's)."""
    variants = result.config.variants
    view = st.segmented_control(
        t("experiments.smooth_view"), VIEWS, format_func=view_name, key=VIEW.key, required=True
    )  # fmt: skip
    st.plotly_chart(over_steps(result, view), key="exp.chart_steps")
    st.caption(t(f"experiments.about_{view}", etas=nums(result.config.etas)))
    st.plotly_chart(per_seed(result, view), key="exp.chart_seeds")
    st.caption(t("experiments.seeds_caption"))
    if current and all(v in variants for v in ("none", "batch", "noisy")):
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
    with st.expander(t("experiments.smooth_table")):
        # a row per measure, a column per network (three columns fit the width in every language): per seed the
        # measure's median over its run, shown as the mean over the seeds and their range
        rows = [t(f"experiments.median_{name}") for name in MEASURES] + [t("experiments.val_accuracy")]
        table = {"": rows}
        for v in variants:
            cells = [spread_of(result.medians[name][v], ".3g") for name in MEASURES]
            table[variant_name(v)] = [*cells, spread_of(result.accuracy[v], None)]
        st.table(pd.DataFrame(table), hide_index=True)  # static: long cells wrap instead of being cut (ru, zh)


def spread_of(values, spec: str | None) -> str:
    """The mean over the seeds and their range, with ``spec`` (None: a percentage)."""
    values = np.asarray(values, np.float64)
    show = pct if spec is None else (lambda v: num(v, spec))
    return f"{show(values.mean())} ({show(values.min())}–{show(values.max())})"
