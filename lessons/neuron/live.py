"""The `neuron` lesson's live element: three weight sliders and the histograms they move,
redrawn in the browser on every pointer move (live.js, live.css beside this file).

The browser gets the input sample once per sample setting (the ``sample`` element, whose
content does not change when a weight moves), and a small configuration on every run (the
``live`` element). It sends the weights back on release or on a keyboard step; the page then
recomputes the official numbers with ``bn_core.neuron``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from bn_core.histogram import Histogram, axis_range, bins_for, histogram

HERE = Path(__file__).resolve().parent
_JS = (HERE / "live.js").read_text(encoding="utf-8")
_CSS = (HERE / "live.css").read_text(encoding="utf-8")
# Registered once per process; the same module serves both (it dispatches on the component's name).
_sample_element = st.components.v2.component("bn_lab.neuron_sample", js=_JS)
_live_element = st.components.v2.component("bn_lab.neuron_live", js=_JS, css=_CSS)

AXIS_STEP = 1.0  # histogram axes widen in whole units (bn_core.histogram.axis_range)


def binned(values: np.ndarray, base: tuple[float, float]) -> Histogram:
    """A chart's histogram as live.js bins it: bins_for(n) bins over the base axis, widened in whole steps."""
    return histogram(values, bins_for(np.size(values)), axis_range(values, base=tuple(base), step=AXIS_STEP))


def sample_id(settings: tuple) -> str:
    return "-".join(str(v) for v in settings)


def sample_bytes(x: np.ndarray, sid: str) -> bytes:
    """The sample (n, 2) float32 as live.js reads it: "BNS1", the id's length and the id (padded
    to 4 bytes), n, then x1 and x2 as little-endian float32 columns (8 n bytes: 800 kB at 100 000)."""
    ident = sid.encode()
    padded = ident + b"\0" * (-len(ident) % 4)
    columns = np.ascontiguousarray(np.asarray(x, "<f4").T)  # (2, n): x1 then x2
    return b"BNS1" + struct.pack("<I", len(ident)) + padded + struct.pack("<I", x.shape[0]) + columns.tobytes()


def draw(
    *,
    sample: bytes,
    config: dict,
    on_weights: Callable[[], None],
    on_failed: Callable[[], None],
) -> None:
    """Mount the two elements. ``config`` is JSON-ready (see ``config`` below)."""
    _live_element(key="neuron.live", data=config, on_weights_change=on_weights, on_failed_change=on_failed)
    _sample_element(key="neuron.sample", data=sample, height=1)


def config(
    *,
    sid: str,
    weights: tuple[float, float, float],
    revision: int,
    weight_range: tuple[float, float],
    step: float,
    act: str,
    bn: str,
    eps: float,
    leak: float,
    bins: int,
    charts: list[dict],
    ghost: Histogram | None,
    text: dict[str, str],
    names: list[str],
) -> dict:
    """The live element's data: everything it needs to compute and draw a frame but the sample."""
    return {
        "sample": sid,
        "weights": [float(w) for w in weights],
        "revision": revision,  # raised whenever the server sets the weights; the element then moves its sliders
        "range": list(weight_range),
        "step": step,
        "act": act,
        "bn": bn,
        "eps": eps,
        "leak": leak,
        "bins": bins,
        "axis_step": AXIS_STEP,
        "charts": charts,
        "ghost": None if ghost is None else {"counts": ghost.counts.tolist(), "edges": ghost.edges.tolist()},
        "text": text,
        "names": names,
    }


def weights_from(state: object, lo: float, hi: float) -> tuple[float, float, float] | None:
    """The weights the element sent (``{"w": [w1, w2, w0], "seq": n}``), clamped to the sliders'
    range, or None if they are not three finite numbers (the element is code in a browser: trust
    nothing it sends)."""
    try:
        values = [float(v) for v in state["w"]]  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        return None
    return tuple(min(max(round(v, 2), lo), hi) for v in values)  # type: ignore[return-value]
