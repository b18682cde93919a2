"""Lesson `neuron`: one neuron's output distribution, and what BatchNorm does to it."""

import numpy as np
import streamlit as st

from bn_core import neuron
from bn_core.histogram import bins_for
from lessons.neuron import code, live
from lessons.neuron.state import (
    FAILED,
    INPUTS,
    PARAMS,
    PIN,
    PRESETS,
    QUESTIONS,
    REVISION,
    SIZES,
    WEIGHT_PRESETS,
    WEIGHT_RANGE,
    WEIGHT_STEP,
    WEIGHTS,
)
from ui import charts
from ui.code import code_for_this
from ui.controls import decimal_slider
from ui.formulas import NEURON
from ui.frame import guarded, header, lead, live_part
from ui.i18n import num, nums, pct, t
from ui.quiz import check_yourself
from ui.share import share_bar
from ui.state import restore, show_notices


def apply_preset(name: str) -> None:
    for key, value in zip(WEIGHTS, WEIGHT_PRESETS[name], strict=True):
        st.session_state[key] = value
    server_set_weights()


def server_set_weights() -> None:
    """The weights changed here, not in the live element: tell it to move its sliders."""
    st.session_state[REVISION] = st.session_state.get(REVISION, 0) + 1


def weights_sent() -> None:
    """The live element's callback: the pointer was released or a key moved a weight."""
    weights = live.weights_from(st.session_state["neuron.live"].get("weights"), *WEIGHT_RANGE)
    if weights is not None:
        for key, value in zip(WEIGHTS, weights, strict=True):
            st.session_state[key] = value


def live_failed() -> None:
    st.session_state[FAILED] = True


def plain_slider_moved(key: str) -> None:
    st.session_state[key] = st.session_state[f"{key}.slider"]
    server_set_weights()


def placement() -> str:
    """Where BatchNorm sits: "off", "before" or "after" the activation."""
    s = st.session_state
    return s["neuron.place"] if s["neuron.bn"] else "off"


def pin() -> None:
    """Keep the output histogram as it is now, to compare with what the weights do next."""
    s = st.session_state
    act, bn = s["neuron.act"], placement()
    x = inputs(s["neuron.n"], s["neuron.mu"], s["neuron.sd"], s["neuron.seed"])[0]
    s[PIN] = live.binned(neuron.forward(x, *(s[k] for k in WEIGHTS), act, bn).out, chart_specs(act, bn)[-1]["base"])


def unpin() -> None:
    st.session_state.pop(PIN, None)


def controls() -> None:
    st.selectbox(t("neuron.activation"), neuron.ACTIVATIONS, format_func=lambda a: t(f"act.{a}"), key="neuron.act")
    for name in WEIGHT_PRESETS:  # the weights in the language's notation: ru "(0,5; 0,5; 1)"
        w = nums(WEIGHT_PRESETS[name], "g").replace("-", "−")
        label = t(f"neuron.preset_{name}", w=w)
        st.button(label, on_click=apply_preset, args=(name,), key=f"neuron.preset_{name}", width="stretch")
    st.toggle(t("neuron.add_bn"), key="neuron.bn")
    st.radio(
        t("neuron.placement"),
        ("before", "after"),
        format_func=lambda p: t(f"neuron.place_{p}"),
        key="neuron.place",
        horizontal=True,
        disabled=not st.session_state["neuron.bn"],
    )
    st.button(t("neuron.pin"), on_click=pin, key="neuron.pin_button", icon=":material/push_pin:", width="stretch")
    st.button(
        t("neuron.unpin"),
        on_click=unpin,
        key="neuron.unpin_button",
        disabled=PIN not in st.session_state,
        width="stretch",
    )
    with st.expander(t("neuron.inputs")):
        decimal_slider(t("neuron.mu"), -10.0, 10.0, 0.5, key="neuron.mu")
        decimal_slider(t("neuron.sd"), 0.1, 5.0, 0.1, key="neuron.sd")
        st.select_slider(t("neuron.n"), SIZES, format_func=lambda v: num(v, ",.0f"), key="neuron.n")
        st.number_input(t("neuron.seed"), 0, 2**31 - 1, step=1, key="neuron.seed")
        st.toggle(t("neuron.plain"), key="neuron.plain", help=t("neuron.plain_help"))


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


def inputs(n: int, mu: float, sd: float, seed: int) -> tuple[np.ndarray, bytes, str]:
    """The input sample (float32) and its bytes for the browser, made again only when its
    settings change: a weight move reuses both."""
    settings = (n, mu, sd, seed)
    kept = st.session_state.get(INPUTS)
    if kept is None or kept[0] != settings:
        x = neuron.sample_inputs(n, mu, sd, seed=seed)
        x.flags.writeable = False
        sid = live.sample_id(settings)
        kept = st.session_state[INPUTS] = (settings, x, live.sample_bytes(x, sid), sid)
    return kept[1], kept[2], kept[3]


def output_base(act: str) -> tuple[float, float]:
    return {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(act, (-1.0, 5.0))


def chart_specs(act: str, bn: str) -> list[dict]:
    """The charts, left to right: z, then with BN the value between BN and the activation, then the output.
    ``source`` names the field of ``bn_core.neuron.NeuronPass`` a chart bins."""
    z = {"id": "z", "source": "z", "title": t("neuron.chart_z"), "base": [-5.0, 5.0]}
    if bn == "off":
        return [
            z,
            {"id": "out", "source": "out", "title": t("neuron.chart_y"), "base": list(output_base(act)), "ghost": True},
        ]
    if bn == "before":
        mid = {"id": "mid", "source": "mid", "title": t("neuron.chart_bn_z"), "base": [-4.0, 4.0]}
        out = {"id": "out", "source": "out", "title": t("neuron.chart_bn_before"), "base": list(output_base(act))}
    else:
        mid = {"id": "mid", "source": "mid", "title": t("neuron.chart_plain"), "base": list(output_base(act))}
        out = {"id": "out", "source": "out", "title": t("neuron.chart_bn_after"), "base": [-4.0, 4.0]}
    return [z, mid, {**out, "ghost": True}]


def live_text() -> dict[str, str]:
    keys = ("cut", "cut_bn", "spike_zero", "spike_moved", "spike_at", "loading", "failed")
    return {k: t(f"neuron.live_{k}") for k in keys} | {"decimal": num(0.5, ".1f")[1], "pinned": t("neuron.pinned")}


def plain_view(result: neuron.NeuronPass, specs: list[dict]) -> None:
    """The fallback: Streamlit sliders (the charts redraw on release) and Plotly histograms."""
    s = st.session_state
    st.caption(t("neuron.plain_note"))
    for column, key in zip(st.columns(3), WEIGHTS, strict=True):
        s[f"{key}.slider"] = s[key]
        column.slider(
            t(key), *WEIGHT_RANGE, step=WEIGHT_STEP, key=f"{key}.slider", on_change=plain_slider_moved, args=(key,)
        )
    for column, spec in zip(st.columns(len(specs)), specs, strict=True):
        hist = live.binned(getattr(result, spec["source"]), spec["base"])
        column.plotly_chart(
            charts.histogram_figure(
                hist,
                title=spec["title"],
                x_title="",
                y_title=t("common.share"),
                name=spec["title"],
                ghost=s.get(PIN) if spec.get("ghost") else None,
                ghost_name=t("neuron.pinned"),
            ),
            key=f"neuron.chart_{spec['id']}",
        )


def metrics(result: neuron.NeuronPass, act: str, bn: str) -> None:
    s = st.session_state
    y = result.out
    summary = neuron.summarize(y, act, activated=result.activated)
    shown = [  # (label, value, help): as many columns as numbers, so that labels are not cut
        (t("neuron.out_mean"), num(summary.mean, ".3f"), None),
        (t("neuron.out_std"), num(summary.std, ".3f"), None),
    ]
    if act == "relu" and bn == "after":  # BN moved ReLU's zeros: they are no longer 0, but still one value
        shown.insert(0, (t("neuron.former_zeros"), pct(summary.zero_share), t("neuron.former_zeros_help")))
    elif act in ("relu", "leaky_relu"):
        shown.insert(0, (t("neuron.zero_share"), pct(summary.zero_share), None))
    if summary.saturated_share is not None:
        shown.append((t("neuron.saturated"), pct(summary.saturated_share), t("neuron.saturated_help")))
    if act == "relu" and bn == "off":
        m, sd = neuron.pre_activation_params(*(s[k] for k in WEIGHTS), s["neuron.mu"], s["neuron.sd"])
        shown.append((t("neuron.theory"), pct(neuron.relu_moments(m, sd)[0]), t("neuron.theory_help")))
    for column, (label, value, help_text) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(label, value, help=help_text)
    if result.bn_mean is not None:  # what BN normalized with: batch mean and biased variance (too long for a metric)
        st.markdown(
            rf"**{t('neuron.bn_stats')}:** $\mu_B$ = {num(result.bn_mean, '.4f')}, "
            rf"$\sigma^2_B$ = {num(result.bn_var, '.4f')}"
        )
    if result.bn_var == 0.0 and bn == "before":  # w₁ = w₂ = 0: exact zeros here, a matter of rounding elsewhere
        residues = neuron.framework_residues(result.z)
        f32, f64 = residues["float32"], residues["float64"]
        st.caption(
            t(
                "neuron.constant_bn",
                w0=num(s["neuron.w0"], ".2f"),
                n=num(len(result.z), ",d"),
                f32=num(f32[0], ".1e"),
                z32=pct(f32[1]),
                f64=num(f64[0], ".1e"),
                z64=pct(f64[1]),
            )
        )


guarded(body, "neuron")
