"""The run player: a live element (player.js and player.css beside this file) that plays back the
records of training runs computed on the server (serve.runner), with no server rerun while it plays.

The page sends each record's measures once per page run (while a run is still being computed,
once a second with what is new); the browser keeps the playhead. The element computes nothing
the engine computes: it draws the measures as the worker took them, and the steps to 90 % validation
accuracy arrive marked (``bn_core.train.steps_to``, the number the run's summary shows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from bn_core import train as tr
from serve.records import RunView
from ui.i18n import current_lang, t

HERE = Path(__file__).resolve().parent
_element = st.components.v2.component(
    "bn_lab.run_player",
    js=(HERE / "player.js").read_text(encoding="utf-8"),
    css=(HERE / "player.css").read_text(encoding="utf-8"),
)
LOCALES = {"en": "en", "ru": "ru", "zh": "zh-CN"}
SPEEDS = (1, 5, 20, 100, 500)  # steps a second a page offers (the record is computed at full speed)
SPEED_NAMES = tuple(str(s) for s in SPEEDS)
TARGET = 0.9  # the accuracy whose first step is marked
DIGITS = 4  # decimals sent (accuracies to 0.01 %, percentiles to 1e-4): a record's data stays near 60 kB


def steps_per_second(name: str, default: str) -> float:
    """A pace control's value as steps a second (``default`` for a value it does not offer)."""
    return float(name if name in SPEED_NAMES else default)


def measures_of(view: RunView) -> list[tr.Measure]:
    return view.history.measures if view.history is not None else view.measures


def _round(values) -> list:
    """Values rounded for the browser, nested as given; a non-finite one (a diverging run) as None."""
    array = np.round(np.asarray(values, dtype=np.float64), DIGITS)
    out = array.astype(object)
    out[~np.isfinite(array)] = None
    return out.tolist()


def run_data(name: str, short: str, view: RunView) -> dict:
    """One run's part of the element's data."""
    measures = measures_of(view)
    quantiles = np.array([m.quantiles[:, :, 0, :] for m in measures]) if measures else np.zeros((0, 0, 2, 3))
    history = view.history if view.history is not None else tr.History(view.config, measures=measures)
    reached = tr.steps_to(history, TARGET)  # on the validation set, as the run's summary counts it
    return {
        "name": name,
        "short": short,
        "state": view.state,
        "done": int(view.done),
        "steps": [int(m.step) for m in measures],
        "acc": _round([m.test_accuracy for m in measures]),
        "band": _round(quantiles[:, -1, 1, :]) if len(measures) else [],  # last layer, leaving the normalization
        "layers": _round(quantiles) if len(measures) else [],  # (measures, layers, 2, 3)
        "reached": reached,
        "has_norm": view.config.norm != "none",  # without one, the values entering and leaving are the same
    }


def value_range(arrays: list[np.ndarray], pad: float = 0.05, tail: float = 0.0) -> list[float]:
    """A fixed axis for the whole record (it must not move while the record plays), leaving out the
    ``tail`` percent of values at each end (a diverging run's few huge values would squash the rest)."""
    values = np.concatenate([a.ravel() for a in arrays if a.size]) if arrays else np.zeros(1)
    values = values[np.isfinite(values)]
    lo, hi = np.percentile(values, [tail, 100 - tail]) if values.size else (-1.0, 1.0)
    lo, hi = float(lo), float(hi)
    if hi - lo < 1e-6:
        lo, hi = lo - 1.0, hi + 1.0
    margin = (hi - lo) * pad
    return [round(lo - margin, 3), round(hi + margin, 3)]


def draw(
    element_key: str, key: str, runs: list[tuple[str, str, RunView]], *, speed: float, restart: int | None, layer: int
) -> None:
    """The player for ``runs`` (name, short name, view), a pair's records together called ``key`` (the
    browser keeps a playhead per key). A new ``restart`` number plays from step 0 (a new press of Play)."""
    total = max(v.total or (measures_of(v)[-1].step if measures_of(v) else 0) for _, _, v in runs)
    parts = [run_data(name, short, view) for name, short, view in runs]
    bands = [np.array([q for q in p["band"]], dtype=float) for p in parts]
    layers = [np.array(p["layers"], dtype=float) for p in parts]
    data = {
        "key": key,
        "total": int(total),
        "speed": float(speed),
        "restart": restart,
        "locale": LOCALES[current_lang()],
        "runs": parts,
        "layers": int(layer),
        "band_range": value_range(bands),
        "layer_range": value_range(layers, tail=2.0),  # a diverging run's huge values end at the edge
        "text": {
            "play": t("player.play"),
            "pause": t("player.pause"),
            "step": t("player.step"),
            "reset": t("player.reset"),
            "scrub": t("player.scrub"),
            "step_of": t("player.step_of"),
            "shown": t("player.shown"),
            "computed": t("player.computed"),
            "computed_all": t("player.computed_all"),
            "jump": t("player.jump"),
            "pct": t("player.pct"),
            "acc_title": t("train.test_curve"),
            "probe_title": t("train.probe_title", layer=layer),
            "band_note": t("player.band_note"),
            "step_axis": t("train.step_axis"),
            "net_title": t("player.net_title"),
            "net_note": t("player.net_note"),
            "layer": t("player.layer"),
            "before": t("player.before"),
            "after": t("player.after"),
            "no_norm": t("player.no_norm"),
            "run_value": t("player.run_value"),
        },
    }
    _element(key=element_key, data=data, height="content")
