"""Section `axes`: which values share one mean and variance under each normalization."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import reduced_axes, shared_statistics
from bn_core.batchnorm import values_per_channel
from bn_core.norms import NORM_KINDS, values_per_statistic
from lessons.inside import code, figures
from ui.code import code_for_this
from ui.frame import beside_controls
from ui.i18n import labels, num, t
from ui.state import Param

PARAMS = (
    Param("layout", "inside.layout", "nchw", kind="choice", choices=("nchw", "nc")),
    Param("an", "inside.axes_n", 3, kind="int", lo=1, hi=6),
    Param("ac", "inside.axes_c", 4, kind="int", lo=1, hi=8),
    Param("ahw", "inside.axes_hw", 3, kind="int", lo=1, hi=6),
    Param("g", "inside.groups", 2, kind="int", lo=1, hi=8),
)
# Shapes a student meets, for the batch-of-one table: GroupNorm with 32 groups (Wu and He, 2018).
BATCH_OF_ONE = (("image", (1, 64, 32, 32)), ("vector", (1, 64)), ("volume", (1, 32, 64, 128, 128)))
EXAMPLE = (8, 3, 32, 32)  # (N, C, H, W) for the Keras and PyTorch comparison


def divisors(c: int) -> list[int]:
    return [g for g in range(1, c + 1) if c % g == 0]


def controls() -> None:
    s = st.session_state
    st.radio(
        t("inside.layout"),
        ("nchw", "nc"),
        format_func=labels("inside.layout_", ("nchw", "nc")).get,
        key="inside.layout",
        horizontal=True,
    )
    st.slider(t("inside.n"), 1, 6, key="inside.axes_n")
    st.slider(t("inside.c"), 1, 8, key="inside.axes_c")
    st.slider("H·W", 1, 6, key="inside.axes_hw", disabled=s["inside.layout"] == "nc")
    options = divisors(s["inside.axes_c"])
    s["inside.groups"] = max(g for g in options if g <= max(s["inside.groups"], 1))
    st.select_slider(t("inside.groups"), options, key="inside.groups")


def show() -> None:
    s = st.session_state
    view = beside_controls(controls)
    n, c, groups = s["inside.axes_n"], s["inside.axes_c"], s["inside.groups"]
    image = s["inside.layout"] == "nchw"
    hw = s["inside.axes_hw"] if image else 1
    shape = (n, c, hw) if image else (n, c)
    with view:
        st.markdown(t("inside.axes_intro" if image else "inside.axes_intro_nc"))
        columns = st.columns(2)
        for i, kind in enumerate(NORM_KINDS):
            ids = shared_statistics(kind, n, c, groups)
            count, per = int(ids.max()) + 1, values_per_statistic(kind, shape, groups)
            names = [t("inside.set_name", i=k + 1, values=per) for k in range(count)]
            title = t(f"inside.norm_{kind}", g=groups)
            if image:
                cells, notes = figures.cube_cells(ids, hw), figures.cube_axis_labels(n, c, hw)
            else:
                cells, notes = figures.grid_cells(ids), figures.grid_axis_labels(n, c)
            with columns[i % 2]:
                figure = figures.cells_figure(cells, title=title, set_names=names, axis_labels=notes)
                st.plotly_chart(figure, key=f"inside.chart_{kind}")
                note = "inside.sets_one" if per == 1 else "inside.sets"
                st.caption(t(note, sets=count, values=per))
        st.markdown(t("inside.norm_notes"))
        code_for_this(code.axes_script(shape, groups), "inside_axes.py", key="inside.axes_code")
    keras_vs_pytorch()
    batch_of_one(groups=32)


def keras_vs_pytorch() -> None:
    st.subheader(t("inside.keras_title"))
    n, c, h, w = EXAMPLE
    first, last = EXAMPLE, (n, h, w, c)
    st.markdown(
        t(
            "inside.keras_text",
            first=str(first),
            last=str(last),
            axes_first=str(reduced_axes(4, 1)),
            axes_last=str(reduced_axes(4, -1)),
            c=c,
            values=num(values_per_channel(first, 1), ",d"),
            wrong=w,
            wrong_values=num(values_per_channel(first, -1), ",d"),
        )
    )


def batch_of_one(groups: int) -> None:
    st.subheader(t("inside.one_title"))
    rows = []
    for name, shape in BATCH_OF_ONE:
        row = {t("inside.col_case"): t(f"inside.one_{name}"), t("inside.col_shape"): str(shape)}
        for kind in NORM_KINDS:
            per = values_per_statistic(kind, shape, groups)
            row[t(f"inside.norm_{kind}", g=groups)] = num(per, ",d") if per > 1 else t("inside.one_fails")
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="inside.one_table")
    st.caption(t("inside.one_caption"))
    volume = np.prod(BATCH_OF_ONE[2][1][2:])
    st.markdown(t("inside.one_text", volume=num(int(volume), ",d")))
