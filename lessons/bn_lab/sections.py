"""The sections of the `bn-lab` lesson, one question each: its controls and what it shows.

Every section reads the shared settings (``Lab``) and draws only its own controls, so the
values of the others stay as the student left them. Only the chosen section runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from bn_core import CONVENTIONS, BatchNorm, reduced_axes
from bn_core.batchnorm import values_per_channel
from bn_core.keras import tf_batch_normalization
from lessons.bn_lab import code, controls, views
from lessons.bn_lab.lab import Lab, feed, run_layer
from ui.code import code_for_this
from ui.frame import PANEL, controls_beside
from ui.i18n import num, pct, t

DIM_NAMES = {2: "NC", 3: "NCL", 4: "NCHW", 5: "NCDHW"}  # the letters PyTorch's docs give a channels-first input


def axis_names(axes: tuple[int, ...], ndim: int) -> str:
    """Axes by their letters, "N, H, W", as the layout picker names them (not a tuple such as "(0,)")."""
    return ", ".join(DIM_NAMES[ndim][a] for a in axes)


def two_columns():
    """The section's controls (the framework first) on the left, what they show on the right."""
    panel, view = controls_beside()
    with panel:
        controls.control_framework(st.session_state)
    return panel, view


def section_stats(lab: Lab, s) -> None:
    panel, view = two_columns()
    with panel:
        st.toggle(t("bn_lab.bn"), key="bnlab.bn")
        controls.control_n(s)
        controls.control_dist(s)
        controls.control_shape(s, folded=True)
        controls.control_affine(s)
        controls.control_channel(s)
    with view:
        st.markdown(t("bn_lab.stats_intro"))
        x, layer = lab.batch(), lab.layer()
        y, refused = run_layer(layer, x, training=True) if lab.bn else (x, None)
        if refused:
            views.refusal(refused, x.shape)
            st.caption(t("bn_lab.ways_elsewhere"))  # this section has no mode or ε control
        views.before_after(x, y, layer if lab.bn else None, True, lab.ch)
        views.stats_table(layer.statistics(x, True))
        st.caption(t("bn_lab.table_note"))
        if y is not None and lab.bn:
            views.formula(x, y, layer, True, lab.ch)
        section_code(lab, "stats")


def section_running(lab: Lab, s) -> None:
    panel, view = two_columns()
    with panel:
        controls.control_mode(s)
        controls.control_n(s)
        controls.control_running(s)
        controls.control_dist(s, population=False)
        controls.control_channel(s)
    with view:
        st.markdown(t("bn_lab.running_intro"))
        x, layer = lab.batch(), lab.layer()
        fed = feed(lab, layer)
        training = lab.mode == "train"
        y, refused = run_layer(layer, x, training)
        if refused:
            views.refusal(refused, x.shape)
        views.before_after(x, y, layer, training, lab.ch)
        views.stats_table(layer.statistics(x, True), layer)
        st.caption(t(views.table_note(training, refused is not None)))
        if y is not None:
            views.formula(x, y, layer, training, lab.ch)
        st.subheader(t("bn_lab.running_title"))
        views.running_charts(fed, lab)
        section_code(lab, "running")


def section_one(lab: Lab, s) -> None:
    lab = replace(lab, n=lab.n1)  # this section's own batch size: it opens at 1
    panel, view = two_columns()
    with panel:
        controls.control_n1(s)
        controls.control_shape(s)
        controls.control_mode(s)
    with view:  # what this batch gives first, then why (the picture above the fold at 1440×900)
        axes = axis_names(reduced_axes(len(lab.shape), 1), len(lab.shape))
        count = values_per_channel(lab.shape, 1)
        st.markdown(t("bn_lab.one_now", shape=str(lab.shape), axes=axes, count=num(count, ",")))
        x, layer = lab.batch(), lab.layer()
        training = lab.mode == "train"
        if not training:
            feed(lab, layer)
        y, refused = run_layer(layer, x, training)
        # the charts first (at N = 1 beside the input: "no output"), so that moving N does not move them
        views.before_after(x, y, layer, training, lab.ch)
        if refused:
            views.refusal(refused, x.shape)
        elif count == 1 and training and np.isfinite(y).all():  # with ε = 0 it is 0/0: the NaN note says so
            st.info(t("bn_lab.one_keras", beta=num(lab.beta, "g")), icon=":material/visibility_off:")
        st.markdown(t("bn_lab.one_text"))
        with st.expander(t("bn_lab.one_images_title")):
            st.markdown(t("bn_lab.one_images"))
        section_code(lab, "one")


def section_puzzle(lab: Lab, s) -> None:
    """Every number here is computed by the engine under the keras convention."""
    panel, view = st.columns([1, 2.6], gap="large")
    with panel.container(key=PANEL):
        controls.control_puzzle(s)
    x = np.array([lab.px], dtype=np.float32)
    layer = keras_layer(lab.pm)
    for _ in range(lab.pk):
        layer(x, training=True)
    mean, var = float(layer.running_mean[0]), float(layer.running_var[0])
    y = layer(x, training=lab.ptrain)
    with view:
        st.markdown(t("bn_lab.puzzle_question", x=str(np.float32(controls.PUZZLE_X))))
        st.code(puzzle_code(lab), language="python", wrap_lines=True)  # a phone wraps it
        used = (
            t("bn_lab.puzzle_used_batch")
            if lab.ptrain
            else t("bn_lab.puzzle_used_moving", mean=num(mean, ".6g"), var=num(var, ".6g"), eps=num(layer.eps, "g"))
        )
        st.metric(t("bn_lab.puzzle_result"), str(y[0]), help=t("bn_lab.puzzle_result_help"))
        st.markdown(used)
        with st.expander(t("bn_lab.puzzle_more"), expanded=False):
            puzzle_table(x)
        st.markdown(t("bn_lab.puzzle_answer"))
        code_for_this(code.puzzle_script(lab), "bn_lab_puzzle.py", key="bnlab.code")


def keras_layer(momentum: float = 0.99) -> BatchNorm:
    return BatchNorm(1, convention="keras", momentum=momentum)


def puzzle_code(lab: Lab) -> str:
    """The calls the result above comes from, as a student would type them."""
    lines = [
        f"layer = keras.layers.BatchNormalization(momentum={lab.pm:g})",
        f"x = np.array([[{str(np.float32(lab.px))}]], 'float32')",
    ]
    if lab.pk:
        lines += [f"for _ in range({lab.pk}):  # {t('bn_lab.puzzle_calls')}", "    layer(x, training=True)"]
    lines.append("layer(x, training=True)" if lab.ptrain else "layer(x)")
    return "\n".join(lines)


def puzzle_table(x: np.ndarray) -> None:
    """The question's calls, side by side, for this x."""
    one, zero = np.ones(1), np.zeros(1)
    rows = [
        (t("bn_lab.puzzle_direct_tf"), tf_batch_normalization(x, zero, one, one, zero, CONVENTIONS["keras"].eps)),
        (t("bn_lab.puzzle_direct"), keras_layer()(x)),
        (t("bn_lab.puzzle_train"), keras_layer()(x, training=True)),
    ]
    for m in (0.0, 1.0):
        layer = keras_layer(m)
        layer(x, training=True)
        rows.append((t("bn_lab.puzzle_after_train", m=f"{m:g}"), layer(x)))
    st.dataframe(
        pd.DataFrame({t("bn_lab.puzzle_call"): [r[0] for r in rows], "y": [str(r[1][0]) for r in rows]}),
        hide_index=True,
        width="stretch",
        key="bnlab.puzzle_table",
    )


def section_eps(lab: Lab, s) -> None:
    panel, view = two_columns()
    with panel:
        controls.control_eps(s)
        controls.control_dist(s, population=False)
        controls.control_mu(s)
        controls.control_n(s)
        controls.control_mode(s)
        controls.control_channel(s)
    with view:
        with st.expander(t("bn_lab.eps_more")):  # the why, for a student who wants it: the numbers come first
            st.markdown(t("bn_lab.eps_text"))
        x, layer = lab.batch(), lab.layer()
        training = lab.mode == "train"
        if not training:
            feed(lab, layer)
        y, refused = run_layer(layer, x, training)
        mean, var = (np.asarray(v, np.float64) for v in layer.statistics(x, training))
        v, e, ch = float(var[lab.ch]), layer.eps, lab.ch
        outcome = st.container(key="bnlab.eps_outcome")  # the section's point: what ε does to this channel now
        if v < 0 < v + e:  # a share of the denominator means nothing with a negative part
            outcome.markdown(t("bn_lab.eps_now_negative", ch=ch, var=num(v, ".3g"), eps=num(e, "g")))
        elif v + e > 0:
            outcome.markdown(t("bn_lab.eps_now", ch=ch, var=num(v, ".3g"), eps=num(e, "g"), share=pct(e / (v + e))))
        else:
            outcome.markdown(t("bn_lab.eps_now_none", ch=ch, var=num(v, ".3g"), eps=num(e, "g")))
        with outcome:
            if refused:
                views.refusal(refused, x.shape)
            else:
                views.eps_outcome(x, y, mean, var, layer, ch)
        views.before_after(x, y, layer, training, ch, nan_note=False)  # eps_outcome says why
        section_code(lab, "eps")


def section_code(lab: Lab, section: str) -> None:
    code_for_this(code.script(lab, section), f"bn_lab_{section}_{lab.conv}.py", key="bnlab.code")


SECTIONS = {
    "stats": section_stats,
    "running": section_running,
    "one": section_one,
    "puzzle": section_puzzle,
    "eps": section_eps,
}
