"""Section `lr`: the same network trained at a range of learning rates, with and without
BatchNorm: the band between the lowest and highest loss at each step, and the largest rate
that still trains."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bn_core.experiments import LrConfig
from lessons.experiments import common, figures
from ui.frame import beside_controls
from ui.i18n import num, nums, pct, t
from ui.state import Param

DEFAULT = LrConfig()
BATCH_OPTIONS = (16, 32, 60, 128)
PARAMS = (
    Param("lrdepth", "exp.lr_depth", DEFAULT.depth, kind="int", lo=1, hi=3, label="experiments.depth"),
    Param(
        "lrbs",
        "exp.lr_batch",
        DEFAULT.batch_size,
        kind="int",
        lo=16,
        hi=128,
        options=BATCH_OPTIONS,
        label="experiments.batch",
    ),  # fmt: skip
    Param("lrep", "exp.lr_epochs", DEFAULT.epochs, kind="int", lo=1, hi=20, label="experiments.epochs"),
)


def chosen() -> LrConfig:
    s = st.session_state
    return LrConfig(depth=int(s["exp.lr_depth"]), batch_size=int(s["exp.lr_batch"]), epochs=int(s["exp.lr_epochs"]))


def controls() -> None:
    st.slider(t("experiments.depth"), 1, 3, key="exp.lr_depth")
    st.select_slider(t("experiments.batch"), BATCH_OPTIONS, key="exp.lr_batch")
    st.slider(t("experiments.epochs"), 1, 20, key="exp.lr_epochs")


def show() -> None:
    config = chosen()
    result, source = common.result_for("lr", config)

    def panel() -> None:
        controls()
        common.run_panel("lr", config, result is not None)

    with beside_controls(panel):
        common.defaults_note(source)
        drawn = result if result is not None else common.shipped("lr")
        draw(drawn)
        common.source_note(source, "lr")
        common.script_of("lr", drawn.config)


def draw(result) -> None:
    norms = result.config.norms
    st.markdown(f"**{t('experiments.largest_lr')}**")  # once above the metrics: a label each was cut in ru
    cols = st.columns(len(norms))
    for column, norm in zip(cols, norms, strict=True):
        column.metric(
            t(f"train.norm_{norm}"),
            rates(result.largest_lrs(norm)),
            help=t("experiments.largest_lr_help", acc=pct(result.config.trains_at, 0), n=len(result.config.seeds)),
        )
    bands = []
    for norm in norms:
        low, high = result.band(norm)
        bands.append((t(f"train.norm_{norm}"), norm, low, high))
    st.plotly_chart(
        figures.over_steps(
            result.steps,
            [],
            bands=bands,
            title=t("experiments.lr_title", lrs=nums(result.config.lrs)),
            x_title=t("train.step_axis"),
            y_title=t("experiments.loss_axis"),
            log_y=True,
        ),
        key="exp.chart_lr",
    )
    table = {t("train.lr"): [num(v, "g") for v in result.config.lrs]}
    for norm in norms:
        table[t(f"train.norm_{norm}")] = [
            cell(acc, gone) for acc, gone in zip(result.accuracy[norm], result.diverged[norm], strict=True)
        ]
    st.table(pd.DataFrame(table), hide_index=True)  # static: long cells wrap instead of being cut (ru, zh)
    st.markdown(
        t(
            "experiments.lr_text",
            acc=pct(result.config.trains_at, 0),
            none=rates(result.largest_lrs("none")) if "none" in norms else "—",
            bn=rates(result.largest_lrs("batch")) if "batch" in norms else "—",
            n=len(result.config.seeds),
        )
    )


def rates(per_seed: list[float | None]) -> str:
    """The largest rate that trains, over the seeds: one rate when they agree, else the lowest and the highest."""
    ordered = sorted(per_seed, key=lambda r: -1.0 if r is None else r)  # None (no rate trained) lowest
    low, high = common.rate(ordered[0]), common.rate(ordered[-1])
    return low if low == high else f"{low} – {high}"


def cell(accuracy: list[float], diverged: list[bool]) -> str:
    """A table cell: the mean accuracy over the seeds and its range, and how many seeds diverged."""
    gone = sum(diverged)
    if not gone:
        return common.mean_and_range(accuracy)
    named = t("experiments.diverged_in", k=gone, n=len(diverged))
    return named if gone == len(diverged) else f"{named}; {common.mean_and_range(accuracy)}"
