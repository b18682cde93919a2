"""What the `neuron` lesson draws besides its controls: the input sample the live element bins, its charts' specs
and words, the plain charts that replace it (no JavaScript, or a failed element), and the metrics below."""

import numpy as np
import streamlit as st

from bn_core import neuron
from lessons.neuron import live
from lessons.neuron.state import (
    INPUTS,
    PIN,
    REVISION,
    WEIGHT_RANGE,
    WEIGHT_STEP,
    WEIGHTS,
)
from ui import charts
from ui.i18n import num, pct, t


def server_set_weights() -> None:
    """The weights changed here, not in the live element: tell it to move its sliders."""
    st.session_state[REVISION] = st.session_state.get(REVISION, 0) + 1


def plain_slider_moved(key: str) -> None:
    st.session_state[key] = st.session_state[f"{key}.slider"]
    server_set_weights()


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
