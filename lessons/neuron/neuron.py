"""Lesson `neuron`: one neuron's output distribution, and what BatchNorm does to it."""

import streamlit as st

from bn_core import neuron
from bn_core.histogram import bins_for
from lessons.neuron import code, live
from lessons.neuron.controls import controls, live_failed, placement, weights_sent
from lessons.neuron.state import (
    FAILED,
    PARAMS,
    PIN,
    PRESETS,
    QUESTIONS,
    REVISION,
    WEIGHT_PRESETS,
    WEIGHT_RANGE,
    WEIGHT_STEP,
    WEIGHTS,
)
from lessons.neuron.views import chart_specs, inputs, live_text, metrics, plain_view, server_set_weights
from ui.code import code_for_this
from ui.formulas import NEURON
from ui.frame import guarded, header, lead, live_part
from ui.i18n import num, pct, t
from ui.quiz import check_yourself
from ui.share import share_bar
from ui.state import restore, show_notices


def body() -> None:
    header("neuron")
    show_notices(restore(PARAMS))
    share_bar("neuron", PARAMS, PRESETS, after=server_set_weights)
    lead("neuron")
    # Controls, the live element and the metrics rerun on their own, without the frame.
    live_part(lesson_body, "neuron.lesson", PARAMS)
    with st.expander(t("neuron.why_title"), expanded=False):
        st.markdown(t("neuron.why"))
    check_yourself("neuron", QUESTIONS)


def try_it(mu: float, sd: float) -> None:
    """What the two presets zero at the current inputs (it moves with the inputs' sliders)."""
    a, b = (neuron.relu_moments(*neuron.pre_activation_params(*WEIGHT_PRESETS[p], mu, sd))[0] for p in "ab")
    st.info(t("neuron.try_it", mu=num(mu, ".1f"), sd=num(sd, ".1f"), a=pct(a), b=pct(b)), icon=":material/lightbulb:")


def lesson_body() -> None:
    s = st.session_state
    panel, view = st.columns([1, 2.6], gap="large")
    with panel:
        controls()
    act, bn = s["neuron.act"], placement()
    x, sample, sid = inputs(s["neuron.n"], s["neuron.mu"], s["neuron.sd"], s["neuron.seed"])
    weights = tuple(s[k] for k in WEIGHTS)
    result = neuron.forward(x, *weights, act, bn)
    specs = chart_specs(act, bn)

    with view:
        st.latex(NEURON)
        if s["neuron.plain"] or s.get(FAILED):
            if s.get(FAILED) and not s["neuron.plain"]:
                st.warning(t("neuron.live_failed"), icon=":material/warning:")
            plain_view(result, specs)
        else:
            live.draw(
                sample=sample,
                config=live.config(
                    sid=sid,
                    weights=weights,
                    revision=s.get(REVISION, 0),
                    weight_range=WEIGHT_RANGE,
                    step=WEIGHT_STEP,
                    act=act,
                    bn=bn,
                    eps=neuron.BN_EPS,
                    leak=neuron.LEAKY_SLOPE,
                    bins=bins_for(len(x)),
                    charts=specs,
                    ghost=s.get(PIN),
                    text=live_text(),
                    names=[t("neuron.w1"), t("neuron.w2"), t("neuron.w0")],
                ),
                on_weights=weights_sent,
                on_failed=live_failed,
            )
        metrics(result, act, bn)
        try_it(s["neuron.mu"], s["neuron.sd"])  # below the charts: the lesson's first line says what to do first
        source = code.script(weights, act, bn, s["neuron.mu"], s["neuron.sd"], s["neuron.n"], s["neuron.seed"])
        code_for_this(source, "neuron.py", key="neuron.code")


guarded(body, "neuron")
