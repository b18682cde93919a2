"""Section `renorm`: Batch Renormalization's r and d over training, and the share the clip
changes, for an (r_max, d_max), against BatchNorm at a small batch size (Ioffe, 2017)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bn_core.experiments import D_BINS, PHASES, R_BINS, RenormConfig
from bn_core.histogram import Histogram
from lessons.experiments import common, figures
from ui.controls import short
from ui.frame import beside_controls
from ui.i18n import num, pct, t
from ui.state import Param

DEFAULT = RenormConfig()
R_OPTIONS = (1.0, 1.5, 2.0, 3.0, 5.0)
D_OPTIONS = (0.0, 0.5, 1.0, 2.0, 5.0)
BATCH_OPTIONS = (2, 4, 8, 16)
PARAMS = (
    Param("rmax", "exp.r_max", 3.0, lo=1.0, hi=5.0, options=R_OPTIONS, label="experiments.r_max"),
    Param("dmax", "exp.d_max", 5.0, lo=0.0, hi=5.0, options=D_OPTIONS, label="experiments.d_max"),
    Param(
        "rbs",
        "exp.renorm_batch",
        DEFAULT.batch_size,
        kind="int",
        lo=2,
        hi=16,
        options=BATCH_OPTIONS,
        label="experiments.batch",
    ),  # fmt: skip
)


def chosen() -> tuple[RenormConfig, tuple[float, float]]:
    s = st.session_state
    setting = (float(s["exp.r_max"]), float(s["exp.d_max"]))
    return RenormConfig(settings=(setting,), batch_size=int(s["exp.renorm_batch"])), setting


def find(config: RenormConfig, setting: tuple[float, float]):
    """(result, index of the setting in it, source): the shipped result holds several settings."""
    ship = common.shipped("renorm")
    if setting in ship.config.settings and ship.config == RenormConfig(settings=ship.config.settings, **_rest(config)):
        return ship, ship.config.settings.index(setting), "shipped"
    result, source = common.result_for("renorm", config)
    return result, 0, source


def _rest(config: RenormConfig) -> dict:
    return {k: getattr(config, k) for k in ("batch_size", "lr", "epochs", "hidden", "depth", "seeds", "dataset")}


def controls() -> None:
    st.select_slider(
        t("experiments.r_max"), R_OPTIONS, format_func=short, key="exp.r_max", help=t("experiments.r_max_help")
    )
    st.select_slider(
        t("experiments.d_max"), D_OPTIONS, format_func=short, key="exp.d_max", help=t("experiments.d_max_help")
    )
    st.select_slider(t("experiments.batch"), BATCH_OPTIONS, key="exp.renorm_batch")


def show() -> None:
    config, setting = chosen()
    result, index, source = find(config, setting)

    def panel() -> None:
        controls()
        common.run_panel("renorm", config, result is not None)

    with beside_controls(panel):
        common.defaults_note(source)
        if result is None:
            result, index = common.shipped("renorm"), len(common.shipped("renorm").config.settings) - 1
        draw(result, index)
        common.source_note(source, "renorm")
        common.script_of("renorm", result.config)


def draw(result, index: int) -> None:
    r_max, d_max = result.config.settings[index]
    cols = st.columns(3)
    bn, rn = np.array(result.bn_error), np.array(result.errors[index])
    cols[0].metric(t("experiments.bn_error", b=result.config.batch_size), pct(bn.mean()), help=common.seeds_help(bn))
    renorm_label = t("experiments.renorm_error", r=num(r_max, "g"), d=num(d_max, "g"))
    cols[1].metric(renorm_label, pct(rn.mean()), help=common.seeds_help(rn))
    cols[2].metric(t("experiments.clipped"), pct(result.clipped_total[index]), help=t("experiments.clipped_help"))
    names = [t("experiments.phase", k=k + 1, n=PHASES) for k in range(PHASES)]
    left, right = st.columns(2)
    left.plotly_chart(
        figures.phases(
            [Histogram(np.array(h), R_BINS) for h in result.r_hist[index]],
            names,
            title=t("experiments.r_title"),
            x_title="r = σ_B / σ",
            y_title=t("experiments.share_axis"),
            log_x=True,
            limits=(1 / r_max, r_max),
        ),
        key="exp.chart_r",
    )
    right.plotly_chart(
        figures.phases(
            [Histogram(np.array(h), D_BINS) for h in result.d_hist[index]],
            names,
            title=t("experiments.d_title"),
            x_title="d = (μ_B − μ) / σ",
            y_title=t("experiments.share_axis"),
            limits=(-d_max, d_max),
        ),
        key="exp.chart_d",
    )
    st.caption(t("experiments.charts_note"))
    st.plotly_chart(
        figures.over_steps(
            result.clip_steps,
            [(t("experiments.clipped"), "renorm", np.array(result.clipped[index]))],
            title=t("experiments.clipped_title"),
            x_title=t("train.step_axis"),
            y_title=t("experiments.share_axis"),
            percent=True,
            height=280,
        ),
        key="exp.chart_clipped",
    )
    st.markdown(
        t(
            "experiments.renorm_text",
            b=result.config.batch_size,
            bn=common.mean_and_range(bn),
            rn=common.mean_and_range(rn),
            compare=common.compare(rn, bn),
            r=num(r_max, "g"),
            d=num(d_max, "g"),
            clipped=pct(result.clipped_total[index]),
        )
    )
    early, late = result.clipped_in(index, 0), result.clipped_in(index, 3)
    st.markdown(t("experiments.renorm_settle", early=pct(early), late=pct(late), b=result.config.batch_size))
