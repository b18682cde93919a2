"""Section `place`: BN before or after the nonlinearity, saturation, the orders in use, no bias."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import placement as pl
from bn_core.histogram import histogram
from lessons.inside import code
from ui import charts
from ui.code import code_for_this
from ui.controls import decimal_slider
from ui.frame import beside_controls
from ui.i18n import labels, num, pct, t
from ui.state import Param

N, C = 512, 4  # one batch of a hidden layer with a few units
PARAMS = (
    Param("zmu", "inside.z_mean", -1.0, lo=-3.0, hi=3.0),
    Param("zsd", "inside.z_std", 2.0, lo=0.1, hi=5.0),
    Param("zseed", "inside.place_seed", 0, kind="int", lo=0, hi=2**31 - 1),
    Param("squash", "inside.squash", "sigmoid", kind="choice", choices=("sigmoid", "tanh")),
)
# The orders used in practice, as small graphs: (label key, layers).
PRACTICE = (
    ("paper", ("Linear", "BN", "ReLU")),
    ("classic", ("Linear", "ReLU", "BN")),
    ("preact", ("BN", "ReLU", "Conv")),
)


def controls() -> None:
    decimal_slider(t("inside.z_mean"), -3.0, 3.0, 0.1, key="inside.z_mean", help=t("inside.z_help"))
    decimal_slider(t("inside.z_std"), 0.1, 5.0, 0.1, key="inside.z_std")
    st.number_input(t("inside.seed"), 0, 2**31 - 1, step=1, key="inside.place_seed")


def show() -> None:
    s = st.session_state
    view = beside_controls(controls)
    z = pl.pre_activations(N, C, s["inside.z_mean"], s["inside.z_std"], s["inside.place_seed"])
    with view:
        relu_orders(z)
        saturation(z)
    orders_in_practice()
    no_bias(z)
    source = code.place_script(s["inside.z_mean"], s["inside.z_std"], s["inside.place_seed"], s["inside.squash"])
    code_for_this(source, "inside_place.py", key="inside.place_code")


def relu_orders(z: np.ndarray) -> None:
    st.subheader(t("inside.relu_title"))
    seen = {order: pl.place(order, z) for order in pl.ORDERS}
    plain = charts.binned(seen["plain"][:, 0], base=(-3.0, 5.0))
    left, right = st.columns(2)
    for column, order in ((left, "bn_act"), (right, "act_bn")):
        figure = charts.histogram_figure(
            histogram(seen[order][:, 0], plain.counts.size, (plain.edges[0], plain.edges[-1])),
            title=t(f"inside.order_{order}"),
            x_title=t("inside.next_sees"),
            y_title=t("common.share"),
            name=t(f"inside.order_{order}"),
            ghost=plain,
            ghost_name=t("inside.order_plain"),
            height=300,
        )
        column.plotly_chart(figure, key=f"inside.chart_{order}")
    rows = []
    for order in pl.ORDERS:
        summary = pl.summarize(seen[order])
        rows.append(
            {
                t("inside.col_order"): t(f"inside.order_{order}"),
                t("inside.col_mean"): num(round(summary.mean, 3) + 0.0, ".3f"),  # + 0.0: no "-0.000"
                t("inside.col_std"): num(summary.std, ".3f"),
                t("inside.col_zeros"): pct(summary.zero_share),
                t("inside.col_skew"): num(summary.skewness, ".2f"),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="inside.relu_table")
    st.markdown(t("inside.relu_text"))


def saturation(z: np.ndarray) -> None:
    s = st.session_state
    st.subheader(t("inside.sat_title"))
    st.radio(
        t("inside.squash"),
        ("sigmoid", "tanh"),
        format_func=labels("inside.act_", ("sigmoid", "tanh")).get,
        key="inside.squash",
        horizontal=True,
    )
    act = s["inside.squash"]
    act_name = t(f"inside.act_{act}")  # the function's name in the student's language
    normed = pl.batch_normalize(z)
    raw_share, bn_share = pl.saturated_share(act, z), pl.saturated_share(act, normed)
    left, right = st.columns(2)
    left.metric(t("inside.sat_without"), pct(raw_share))
    right.metric(t("inside.sat_with"), pct(bn_share))
    edge = pl.saturation_edge(act)
    base = charts.binned(z[:, 0], base=(-6.0, 6.0))
    figure = charts.histogram_figure(
        histogram(normed[:, 0], base.counts.size, (base.edges[0], base.edges[-1])),
        title=t("inside.sat_chart", act=act_name),
        x_title=t("inside.sat_x"),
        y_title=t("common.share"),
        name=t("inside.with_bn"),
        ghost=base,
        ghost_name=t("inside.without_bn"),
        cut=edge,
        cut_label=t("inside.sat_edge", edge=num(edge, ".2f")),
        more_cuts=(-edge,),  # saturated on both sides: the label says ±
        height=300,
    )
    st.plotly_chart(figure, key="inside.chart_saturation")
    st.caption(t("inside.sat_text", edge=num(edge, ".2f"), act=act_name))


def orders_in_practice() -> None:
    st.subheader(t("inside.practice_title"))
    for column, (name, layers) in zip(st.columns(len(PRACTICE)), PRACTICE, strict=True):
        with column:
            st.markdown(f"**{t(f'inside.practice_{name}')}**")
            st.graphviz_chart(diagram(layers), width="stretch")
    st.markdown(t("inside.practice_text"))


def diagram(layers: tuple[str, ...]) -> str:
    """A left-to-right chain of layers in Graphviz DOT; BN filled."""
    nodes = "\n".join(
        f'  n{i} [label="{name}"{" style=filled fillcolor=" + repr("#dbeafe") if name == "BN" else ""}];'
        for i, name in enumerate(layers)
    ).replace("'", '"')
    edges = " -> ".join(f"n{i}" for i in range(len(layers)))
    return f"digraph {{\n  rankdir=LR;\n  node [shape=box style=rounded fontname=sans];\n{nodes}\n  {edges};\n}}"


def no_bias(z: np.ndarray) -> None:
    st.subheader(t("inside.bias_title"))
    bias = np.random.default_rng(st.session_state["inside.place_seed"]).normal(0.0, 5.0, size=z.shape[1])
    st.markdown(t("inside.bias_text", change=num(pl.bias_change(z, bias), ".1e")))
