"""Section `step`: one small editable batch through BatchNorm, one step at a time, then backward."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import steps
from bn_core.batchnorm import single_value_message
from lessons.inside import code
from lessons.inside.step_formulas import STEPS, formula_lines, step_table
from ui.code import code_for_this
from ui.controls import decimal_slider, short
from ui.i18n import labels, num, pct, t
from ui.state import Param

N_MAX, C_MAX = 8, 4
EPS_OPTIONS = (0.0, 1e-5, 1e-3, 0.1, 1.0)
CELLS = "inside.cells"  # the data editor's edits on top of the seeded batch
KEPT = "inside.cells_kept"  # the edited table: Streamlit drops a widget's state while its section is not shown
PARAMS = (
    Param("n", "inside.n", 4, kind="int", lo=1, hi=N_MAX),
    Param("c", "inside.c", 2, kind="int", lo=1, hi=C_MAX),
    Param("seed", "inside.seed", 0, kind="int", lo=0, hi=2**31 - 1),
    Param("eps", "inside.eps", 1e-5, lo=0.0, hi=1.0, options=EPS_OPTIONS),
    Param("gamma", "inside.gamma", 1.0, lo=-3.0, hi=3.0),
    Param("beta", "inside.beta", 0.0, lo=-3.0, hi=3.0),
    Param("step", "inside.step", 0, kind="int", lo=0, hi=len(STEPS) - 1),
    Param("ch", "inside.ch", 0, kind="int", lo=0, hi=C_MAX - 1),
    Param("row", "inside.row", 0, kind="int", lo=0, hi=N_MAX - 1),
    Param("dy", "inside.dy", "random", kind="choice", choices=steps.UPSTREAM),
)


def seeded_batch(n: int, c: int, seed: int) -> np.ndarray:
    """The batch before any edit: one decimal place, so the sums can be followed by hand."""
    return np.round(np.random.default_rng(seed).normal(2.0, 1.5, size=(n, c)), 1)


def parse_cells(table: pd.DataFrame) -> tuple[np.ndarray | None, list[tuple[int, int, str]]]:
    """The batch typed into the editor, or None and the cells that are not finite numbers
    (row, channel, raw text). A decimal comma is accepted: 1,5 is 1.5."""
    values = np.zeros(table.shape)
    bad = []
    for (i, j), raw in np.ndenumerate(table.to_numpy(dtype=object)):
        text = "" if raw is None else str(raw).strip()
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            value = float("nan")
        if not np.isfinite(value):
            bad.append((i, j, text))
        values[i, j] = value
    return (None, bad) if bad else (values, bad)


def reset_cells() -> None:
    st.session_state.pop(CELLS, None)
    st.session_state.pop(KEPT, None)


def new_batch() -> None:
    st.session_state["inside.seed"] = (st.session_state["inside.seed"] + 1) % 2**31
    reset_cells()


def move(delta: int) -> None:
    s = st.session_state
    s["inside.step"] = min(max(s["inside.step"] + delta, 0), len(STEPS) - 1)


def controls() -> None:
    st.slider(t("inside.n"), 1, N_MAX, key="inside.n", on_change=reset_cells)
    st.slider(t("inside.c"), 1, C_MAX, key="inside.c", on_change=reset_cells)
    left, right = st.columns([1, 1], vertical_alignment="bottom")
    left.number_input(t("inside.seed"), 0, 2**31 - 1, step=1, key="inside.seed", on_change=reset_cells)
    right.button(t("inside.random"), on_click=new_batch, icon=":material/casino:", key="inside.random")
    st.select_slider(t("bn_lab.eps"), EPS_OPTIONS, format_func=short, key="inside.eps")
    decimal_slider(t("bn_lab.gamma"), -3.0, 3.0, 0.1, key="inside.gamma")
    decimal_slider(t("bn_lab.beta"), -3.0, 3.0, 0.1, key="inside.beta")


def editor(n: int, c: int, seed: int) -> pd.DataFrame:
    """The batch editor over the seeded batch, or over the last edited table: an edit is an
    absolute cell value, so applying it again changes nothing, and edits made before a visit
    to another section come back."""
    s = st.session_state
    kept = s.get(KEPT)
    if kept is None or kept.shape != (n, c):
        kept = pd.DataFrame(seeded_batch(n, c, seed), columns=[f"c{j}" for j in range(c)]).map(lambda v: num(v, "g"))
    config = {f"c{j}": st.column_config.TextColumn(t("inside.channel", c=j)) for j in range(c)}
    st.markdown(f"**{t('inside.batch')}**")
    edited = st.data_editor(kept, column_config=config, key=CELLS, width="stretch")
    s[KEPT] = edited
    st.caption(t("inside.batch_note"))
    return edited


def show() -> None:
    s = st.session_state
    n, c = s["inside.n"], s["inside.c"]
    s["inside.ch"], s["inside.row"] = min(s["inside.ch"], c - 1), min(s["inside.row"], n - 1)
    panel, view = st.columns([1, 2.2], gap="large")  # wider panel than the other sections: the editor
    with panel:
        controls()
        x, bad = parse_cells(editor(n, c, s["inside.seed"]))
    with view:
        if x is None:
            bad_cells(bad)
            return
        gamma, beta = np.full(c, s["inside.gamma"]), np.full(c, s["inside.beta"])
        with np.errstate(over="ignore", invalid="ignore"):
            fwd = steps.forward(x, gamma, beta, s["inside.eps"])
        if not np.isfinite(fwd.var).all():  # e.g. 1e300: its square overflows
            st.warning(t("inside.too_large"), icon=":material/warning:")
            return
        if not np.isfinite(fwd.y).all():
            st.warning(t("inside.zero_var"), icon=":material/warning:")
            return
        dy = steps.upstream(s["inside.dy"], fwd, seed=s["inside.seed"] + 1, cell=(s["inside.row"], s["inside.ch"]))
        back = steps.backward(fwd, dy)
        stepper(fwd, back)
        backward_check(fwd, back)
        properties(fwd, back)
        source = code.step_script(
            x, s["inside.gamma"], s["inside.beta"], s["inside.eps"], s["inside.dy"], s["inside.seed"],
            (s["inside.row"], s["inside.ch"]),
        )  # fmt: skip
        code_for_this(source, "inside_step.py", key="inside.code")


def bad_cells(bad: list[tuple[int, int, str]]) -> None:
    lines = [t("inside.bad_cell", row=i, ch=j, raw=raw or "∅") for i, j, raw in bad[:8]]
    st.warning(t("inside.bad_cells") + "\n\n" + "\n".join(f"- {line}" for line in lines), icon=":material/edit_off:")


def stepper(fwd: steps.Forward, back: steps.Backward) -> None:
    s = st.session_state
    k = s["inside.step"]
    pick_ch, pick_row, prev, nxt = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    pick_ch.selectbox(t("inside.ch"), range(fwd.x.shape[1]), key="inside.ch")
    pick_row.selectbox(t("inside.row"), range(fwd.x.shape[0]), key="inside.row")
    prev.button(
        t("inside.prev"),
        on_click=move,
        args=(-1,),
        disabled=k == 0,
        icon=":material/arrow_back:",
        key="inside.prev",
        width="stretch",
    )
    nxt.button(
        t("inside.next"),
        on_click=move,
        args=(1,),
        disabled=k == len(STEPS) - 1,
        icon=":material/arrow_forward:",
        key="inside.next",
        width="stretch",
    )
    name = t(f"inside.step_{STEPS[k]}")
    st.progress((k + 1) / len(STEPS), text=t("inside.step_of", k=k + 1, n=len(STEPS), name=name))
    ch, row = s["inside.ch"], s["inside.row"]
    with st.container(key="inside.step_formula"):  # the section's main picture: the step with its numbers
        for line in formula_lines(STEPS[k], fwd, back, ch, row):
            st.latex(line)
    st.caption(t(f"inside.explain_{STEPS[k]}"))
    st.dataframe(step_table(STEPS[k], fwd, back, ch, row), key="inside.step_table", width="stretch")


def backward_check(fwd: steps.Forward, back: steps.Backward) -> None:
    s = st.session_state
    st.subheader(t("inside.backward"))
    st.radio(
        t("inside.dy"),
        steps.UPSTREAM,
        format_func=labels("inside.dy_", steps.UPSTREAM).get,
        key="inside.dy",
        horizontal=True,
    )
    n = fwd.x.shape[0]
    if n == 1 and fwd.eps > 0:  # PyTorch refuses a channel with one value while training
        st.info(t("inside.torch_refuses", message=single_value_message(fwd.x.shape)), icon=":material/block:")
        return
    _, dx, dgamma, dbeta = steps.torch_reference(fwd.x, back.dy, fwd.gamma, fwd.beta, fwd.eps)
    worst = max(np.abs(dx - back.dx).max(), np.abs(dgamma - back.dgamma).max(), np.abs(dbeta - back.dbeta).max())
    st.metric(t("inside.torch_diff"), num(worst, ".2e"), help=t("inside.torch_diff_help"))
    st.caption(t("inside.torch_how_eps0" if s["inside.eps"] == 0 else "inside.torch_how"))


def properties(fwd: steps.Forward, back: steps.Backward) -> None:
    st.subheader(t("inside.follows"))
    c = fwd.x.shape[1]
    table = pd.DataFrame(
        {
            t("inside.col_channel"): range(c),
            "Σ dx": [num(v, ".2e") for v in back.sum_dx],
            "⟨dx, x̂⟩": [num(v, ".3e") for v in back.dot_dx_x_hat],
            t("inside.col_predicted"): [num(v, ".3e") for v in back.dot_predicted],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", key="inside.properties")
    st.markdown(t("inside.sum_zero"))
    st.latex(
        r"\langle dx, \hat{x}\rangle = \frac{\varepsilon}{(\sigma_B^2+\varepsilon)^{3/2}}\,\gamma\,"
        r"\frac{\partial L}{\partial \gamma}"
    )
    st.markdown(t("inside.orthogonal_eps0" if fwd.eps == 0 else "inside.orthogonal_eps", eps=f"{fwd.eps:g}"))
    ch = st.session_state["inside.ch"]
    shift, scale = steps.frozen_gradient_parts(fwd, back)
    st.markdown(t("inside.why_not_rescale", ch=ch, shift=pct_or_dash(shift[ch]), scale=pct_or_dash(scale[ch])))


def pct_or_dash(value: float) -> str:
    return pct(value) if np.isfinite(value) else "—"
