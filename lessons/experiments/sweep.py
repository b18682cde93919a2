"""Section `sweep`: validation error against batch size for every normalization, BatchNorm's
train/eval gap, and the Group Normalization paper's ImageNet numbers beside them."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bn_core.experiments import SweepConfig
from lessons.experiments import common, figures
from ui.controls import short
from ui.frame import beside_controls
from ui.i18n import num, pct, t
from ui.state import Param

DEFAULT = SweepConfig()
LR_OPTIONS = (0.03, 0.05, 0.1, 0.2)
PARAMS = (
    Param("ep", "exp.sweep_epochs", DEFAULT.epochs, kind="int", lo=1, hi=20, label="experiments.epochs"),
    Param("slr", "exp.sweep_lr", DEFAULT.lr, lo=0.03, hi=0.2, options=LR_OPTIONS, label="experiments.sweep_lr"),
    Param("seeds", "exp.sweep_seeds", len(DEFAULT.seeds), kind="int", lo=1, hi=5, label="experiments.seeds"),
)
# Wu and He (2018), "Group Normalization", ResNet-50 on ImageNet, validation error at each per-GPU batch size
PAPER_SIZES = (2, 4, 8, 16, 32)
PAPER_BN = (0.347, 0.273, 0.248, 0.237, 0.236)
PAPER_GN = (0.241, 0.242, 0.240, 0.242, 0.241)
RULE_SIZE = 8  # the rule of thumb: BN suffers below about 32, badly at 8 or fewer


def chosen() -> SweepConfig:
    s = st.session_state
    return SweepConfig(
        epochs=int(s["exp.sweep_epochs"]), lr=float(s["exp.sweep_lr"]), seeds=tuple(range(int(s["exp.sweep_seeds"])))
    )


def controls() -> None:
    st.slider(t("experiments.epochs"), 1, 20, key="exp.sweep_epochs")
    st.select_slider(
        t("experiments.sweep_lr"),
        LR_OPTIONS,
        format_func=short,
        key="exp.sweep_lr",
        help=t("experiments.sweep_lr_help"),
    )
    st.slider(t("experiments.seeds"), 1, 5, key="exp.sweep_seeds", help=t("experiments.seeds_help"))


def show() -> None:
    config = chosen()
    result, source = common.result_for("sweep", config)

    def panel() -> None:
        controls()
        common.run_panel("sweep", config, result is not None)

    with beside_controls(panel):
        common.defaults_note(source)
        drawn = result if result is not None else common.shipped("sweep")
        draw(drawn, current=result is not None)
        common.source_note(source, "sweep")
        common.script_of("sweep", drawn.config)


def draw(result, current: bool = True) -> None:
    """The result's charts, and, if it is the result of the settings chosen (``current``), what it shows in words
    (while the defaults stand in for settings nobody has computed, their numbers would read as the student's)."""
    sizes = result.config.sizes
    lines = [
        (t(f"train.norm_{n}"), n, result.mean_error(n), "solid", result.error_range(n)) for n in result.config.norms
    ]
    if "batch" in result.config.norms:
        mode = (
            t("experiments.bn_train_mode"),
            "batch",
            result.mean_train_mode_error(),
            "dot",
            result.train_mode_range(),
        )
        lines.append(mode)
    st.plotly_chart(  # the section's picture, as large as the column: seven normalizations and their seeds' range
        figures.by_batch(
            sizes,
            lines,
            title=t("experiments.sweep_title"),
            x_title=t("experiments.batch_axis"),
            y_title=t("experiments.error_axis"),
            shade_below=RULE_SIZE,
            shade_label=t("experiments.rule_band"),
            log_y=True,
            height=520,
        ),
        key="exp.chart_sweep",
    )
    paper, rule = st.columns([1, 1.2])
    paper.plotly_chart(
        figures.by_batch(
            PAPER_SIZES,
            [
                (t("experiments.paper_bn"), "paper_bn", np.array(PAPER_BN), "solid"),
                (t("experiments.paper_gn"), "paper_gn", np.array(PAPER_GN), "solid"),
            ],
            title=t("experiments.paper_title"),
            x_title=t("experiments.batch_axis_gpu"),
            y_title=t("experiments.error_axis"),
            shade_below=RULE_SIZE,
            shade_label=t("experiments.rule_band"),
        ),
        key="exp.chart_paper",
    )
    paper.caption(t("experiments.paper_caption"))
    rule.markdown(t("experiments.rule"))
    if current and "batch" in result.config.norms:
        st.markdown(summary(result))


def summary(result) -> str:
    """The chart's story in numbers: BN at the smallest and at the reference batch size, the
    normalizations that look at no other sample, and BN in training mode."""
    sizes = list(result.config.sizes)
    bn = result.mean_error("batch")
    small, ref = 0, sizes.index(32) if 32 in sizes else len(sizes) - 1
    others = [n for n in ("layer", "group", "weight") if n in result.config.norms]
    spread = np.concatenate([result.mean_error(n) for n in others]) if others else bn
    return t(
        "experiments.sweep_text",
        b_small=sizes[small],
        bn_small=pct(bn[small]),
        b_ref=sizes[ref],
        bn_ref=pct(bn[ref]),
        low=pct(spread.min()),
        high=pct(spread.max()),
        train_small=pct(result.mean_train_mode_error()[small]),
        b_next=sizes[min(small + 1, len(sizes) - 1)],
        train_next=pct(result.mean_train_mode_error()[min(small + 1, len(sizes) - 1)]),
        bn_next=pct(bn[min(small + 1, len(sizes) - 1)]),
        epochs=result.config.epochs,
        seeds=len(result.config.seeds),
        lr=num(result.config.lr, "g"),
    )
