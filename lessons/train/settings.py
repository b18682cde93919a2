"""The `train` lesson's settings: the preset picker, the pace, the free settings (the "custom" preset) and the
configuration they make, described in words."""

from __future__ import annotations

import streamlit as st

from bn_core import data as digit_data
from bn_core import train as tr
from bn_core.batchnorm import single_value_message
from lessons.train.state import (
    BATCH_OPTIONS,
    HIDDEN_OPTIONS,
    LR_OPTIONS,
    PACE,
    PARAMS,
    PRESET_CHOICES,
)
from ui import player
from ui.controls import decimal_slider
from ui.i18n import num, t
from ui.state import current


def config_from_state() -> tr.TrainConfig:
    """The free settings, read as ``current`` reads them: in Play's callback a setting can be missing, or None,
    when Play is pressed while the page still mounts its widgets (ui.state.current)."""
    v = {p.key: current(p) for p in PARAMS}
    return tr.TrainConfig(
        dataset=v["train.dataset"],
        norm=v["train.norm"],
        placement=v["train.placement"],
        activation=v["train.activation"],
        depth=int(v["train.depth"]),
        hidden=int(v["train.hidden"]),
        hidden2=int(v["train.hidden2"]),
        dropout=float(v["train.dropout"]),
        optimizer=v["train.optimizer"],
        lr=float(v["train.lr"]),
        batch_size=int(v["train.batch_size"]),
        epochs=int(v["train.epochs"]),
        seed=int(v["train.seed"]),
    )


def chosen_config() -> tr.TrainConfig:
    preset = current(PARAMS[0])
    return tr.PRESETS[preset] if preset in tr.PRESETS else config_from_state()


def pair(config: tr.TrainConfig) -> list[tr.TrainConfig]:
    """What one press trains: the configuration and its twin without normalization (or the one run)."""
    return [config] if config.norm == "none" else [config, config.twin()]


def speed() -> float:
    """The player's pace, in steps a second."""
    return player.steps_per_second(current(PACE), PACE.default)


def norm_name(norm: str) -> str:
    return t(f"train.norm_{norm}")


def plural(n: int, key: str) -> str:
    """``key``'s three forms ("1|2-4|5+", as Russian needs; the others repeat one) for ``n``."""
    forms = t(key, n=n).split("|")
    tens, ones = n % 100, n % 10
    index = 0 if ones == 1 and tens != 11 else 1 if 2 <= ones <= 4 and not 12 <= tens <= 14 else 2
    return forms[index]


def describe(config: tr.TrainConfig) -> str:
    """A configuration in a few words: the network, its training."""
    sep = t("train.sep")
    parts = [
        norm_name(config.norm),
        t("train.depth_text", depth=config.depth, units=plural(config.hidden, "train.units")),
        t(f"train.act_{config.activation}"),
        t("train.field", name=t("train.field_lr"), value=num(config.lr, "g")),
        t("train.field", name=t("train.field_batch_size"), value=config.batch_size),
        t("train.field", name=t("train.field_epochs"), value=config.epochs),
    ]
    return sep.join(parts)


def preset_picker() -> None:
    st.selectbox(t("train.preset"), PRESET_CHOICES, format_func=lambda p: t(f"train.preset_{p}"), key="train.preset")


def controls() -> None:
    """The free settings (the "custom" preset)."""
    st.selectbox(
        t("train.dataset"), digit_data.DATASETS, format_func=lambda d: t(f"train.data_{d}"), key="train.dataset"
    )
    st.selectbox(t("train.norm"), tr.NORMS, format_func=norm_name, key="train.norm")
    st.radio(
        t("train.placement"),
        tr.PLACEMENTS,
        format_func=lambda p: t(f"train.place_{p}"),
        key="train.placement",
        horizontal=True,
        disabled=st.session_state["train.norm"] == "none",
    )
    st.radio(
        t("train.activation"),
        tr.ACTIVATIONS,
        format_func=lambda a: t(f"train.act_{a}"),
        key="train.activation",
        horizontal=True,
    )
    st.slider(t("train.depth"), 1, 3, key="train.depth")
    st.select_slider(t("train.hidden"), HIDDEN_OPTIONS, key="train.hidden")
    st.select_slider(
        t("train.hidden2"),
        (0, *HIDDEN_OPTIONS),
        format_func=lambda v: str(v) if v else t("train.off"),
        key="train.hidden2",
    )
    decimal_slider(t("train.dropout"), 0.0, tr.DROPOUT_MAX, 0.05, key="train.dropout", help=t("train.dropout_help"))
    st.radio(
        t("train.optimizer"),
        tr.OPTIMIZERS,
        format_func=lambda o: t(f"train.opt_{o}"),
        key="train.optimizer",
        horizontal=True,
    )
    st.select_slider(t("train.lr"), LR_OPTIONS, format_func=lambda v: num(v, "g"), key="train.lr")
    st.select_slider(t("train.batch_size"), BATCH_OPTIONS, key="train.batch_size")
    st.slider(t("train.epochs"), 1, tr.EPOCH_RANGE[1], key="train.epochs")
    st.number_input(t("train.seed"), 0, 2**31 - 1, step=1, key="train.seed")


def problems_message(problems: list[str], hidden: int) -> None:
    if "batch_of_one" in problems:
        st.error(t("train.batch_of_one"), icon=":material/block:")
        st.code(f"ValueError: {single_value_message((1, hidden))}", language=None, wrap_lines=True)
        st.markdown(t("train.batch_of_one_ways"))
    others = [p for p in problems if p != "batch_of_one"]
    if others:  # only reachable by hand-edited state; the widgets keep values in range
        st.error(t("train.bad_settings", which=", ".join(others)), icon=":material/block:")
