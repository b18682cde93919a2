"""Sliders whose numbers are written as the page's text writes them (0,5 in Russian): Streamlit's slider formats
its value with sprintf, which knows only the decimal point, so a slider over decimals is a select slider over its
steps, each written by ``ui.i18n.num``. It looks and moves (arrow keys: one step) as the plain slider does."""

from __future__ import annotations

import math

import streamlit as st

from ui.i18n import num


def steps(lo: float, hi: float, step: float) -> tuple[tuple[float, ...], int]:
    """The values from ``lo`` to ``hi`` in steps of ``step`` (each as its decimal literal: 0.3, not
    0.30000000000000004), and the decimals that write them."""
    digits = max(0, -math.floor(math.log10(step) + 1e-9))  # 0.1 -> 1, 0.05 -> 2
    count = round((hi - lo) / step)
    return tuple(round(lo + i * step, digits) for i in range(count + 1)), digits


def decimal_slider(label: str, lo: float, hi: float, step: float, key: str, **kwargs):
    """A slider over ``lo``..``hi`` in steps of ``step``, bound to session state ``key``. A value between two
    steps (from a link, or older state) moves to the nearest step before the slider is drawn."""
    options, digits = steps(lo, hi, step)
    s = st.session_state
    if key in s and s[key] not in options:
        s[key] = min(options, key=lambda option: abs(option - s[key]))
    return st.select_slider(label, options, key=key, format_func=lambda v: num(v, f".{digits}f"), **kwargs)


def short(value: float) -> str:
    """A choice's number as short as it is exact (0.1, 1e-05), in the page's notation."""
    return num(value, "g")
