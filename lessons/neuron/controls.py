"""The `neuron` lesson's controls (activation, presets, BatchNorm and its place, the pin, the inputs) and the
callbacks that keep the live element's weights and the server's in step."""

import streamlit as st

from bn_core import neuron
from lessons.neuron import live
from lessons.neuron.state import (
    FAILED,
    PIN,
    SIZES,
    WEIGHT_PRESETS,
    WEIGHT_RANGE,
    WEIGHTS,
)
from lessons.neuron.views import chart_specs, inputs, server_set_weights
from ui.controls import decimal_slider
from ui.i18n import num, nums, t


def apply_preset(name: str) -> None:
    for key, value in zip(WEIGHTS, WEIGHT_PRESETS[name], strict=True):
        st.session_state[key] = value
    server_set_weights()


def weights_sent() -> None:
    """The live element's callback: the pointer was released or a key moved a weight."""
    weights = live.weights_from(st.session_state["neuron.live"].get("weights"), *WEIGHT_RANGE)
    if weights is not None:
        for key, value in zip(WEIGHTS, weights, strict=True):
            st.session_state[key] = value


def live_failed() -> None:
    st.session_state[FAILED] = True


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
