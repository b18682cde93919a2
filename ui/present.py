"""Presenter mode and hidden controls, for a teacher at a projector.

``?present=1`` (or the sidebar toggle) enlarges the lesson for the back row and starts with the
sidebar closed; ``?hide=act,n`` hides those controls of the lesson (named as in its link), so the
class sees one clean experiment. Both last for the session and stay in the link as the student
moves through the lessons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import streamlit as st

PRESENT = "present"  # session key and link parameter
HIDE = "hide"  # session key (a tuple of parameter names) and link parameter (comma-separated)
SCALE = 1.3  # how much larger text and spacing are in presenter mode
# Streamlit sizes text and spacing in rem, so a larger root font enlarges the page and every
# element still lays out in its real width. CSS zoom did not: a zoomed Plotly chart measured its
# container unzoomed and was drawn 1.3 times too wide, cutting off its axes and legend.
BASE_FONT_PX = 16
MAX_HIDDEN = 30
NAME = re.compile(r"^[a-z0-9_]{1,24}$")  # what a lesson's link parameter names look like


def restore_from_link() -> None:
    """The first run of a session takes presenter mode and hidden controls from the link."""
    s = st.session_state
    if PRESENT not in s:
        s[PRESENT] = st.query_params.get(PRESENT, "") in ("1", "true", "on", "yes")
    if HIDE not in s:
        s[HIDE] = parse_hidden(st.query_params.get(HIDE, ""))


def parse_hidden(raw: str) -> tuple[str, ...]:
    """Link parameter names from a comma-separated list; anything else is dropped (the list ends
    up in a style sheet, so only plain names pass)."""
    names = (part.strip().lower() for part in raw[:1000].split(","))
    return tuple(dict.fromkeys(n for n in names if NAME.match(n)))[:MAX_HIDDEN]


def link_params() -> dict[str, str]:
    s = st.session_state
    wanted = {PRESENT: "1"} if s.get(PRESENT) else {}
    if s.get(HIDE):
        wanted[HIDE] = ",".join(s[HIDE])
    return wanted


def css_class(widget_key: str) -> str:
    """The class Streamlit gives the element of a widget with this key (its characters outside
    letters, digits, _ and - become -)."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", widget_key.strip())


def style(hidden_keys: Iterable[str]) -> str:
    """The style sheet for the current run: presenter zoom, and the hidden controls."""
    rules = []
    if st.session_state.get(PRESENT):
        # for a projector: a phone keeps its size (larger text there only cuts labels)
        rules.append(f"@media (min-width: 640px) {{ html {{ font-size: {BASE_FONT_PX * SCALE:g}px !important; }} }}")
    for key in hidden_keys:
        rules.append(f".{css_class(key)}, .{css_class(key + '.slider')} {{ display: none !important; }}")
    return f"<style>{' '.join(rules)}</style>" if rules else ""


def apply(params: Iterable) -> None:
    """Draw the style sheet for a lesson whose ``params`` (ui.state.Param) are named in the link."""
    hidden = set(st.session_state.get(HIDE, ()))
    sheet = style(p.key for p in params if p.name in hidden)
    if sheet:
        st.html(sheet)
