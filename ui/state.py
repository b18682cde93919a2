"""Page state declared once, restored from the URL, and mirrored back to it.

A lesson lists its ``Param``s; ``restore`` fills session state from the URL
(untrusted input: clamped or ignored with a notice) the first time a widget
key is seen, and ``mirror`` writes the current values back so that the address
bar always holds a link that reproduces the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ui.i18n import DEFAULT_LANG, LANG_KEY, t


@dataclass(frozen=True)
class Param:
    """One piece of page state: its URL name, widget key, default and bounds.

    ``kind`` is ``"float"``, ``"int"``, ``"choice"`` or ``"bool"``; numbers are
    clamped to [lo, hi]; with ``options`` a number snaps to the nearest option.
    """

    name: str
    key: str
    default: Any
    kind: str = "float"
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    options: tuple[float, ...] = ()


@dataclass(frozen=True)
class Notice:
    name: str
    raw: str
    used: Any


def parse(param: Param, raw: str) -> tuple[Any, bool]:
    """(value, changed): the value to use for a raw URL string, and whether it
    differs from what the URL asked for (ignored, clamped or snapped)."""
    raw = raw.strip()[:64]
    if param.kind == "choice":
        return (raw, False) if raw in param.choices else (param.default, True)
    if param.kind == "bool":
        if raw.lower() in ("1", "true", "on", "yes"):
            return True, False
        if raw.lower() in ("0", "false", "off", "no"):
            return False, False
        return param.default, True
    try:
        number = float(raw)
    except ValueError:
        return param.default, True
    if not math.isfinite(number):
        return param.default, True
    value = number
    if param.lo is not None:
        value = max(value, param.lo)
    if param.hi is not None:
        value = min(value, param.hi)
    if param.options:
        value = min(param.options, key=lambda o: abs(o - value))
    if param.kind == "int":
        value = int(round(value))
    return value, value != number


def restore(params: Sequence[Param]) -> list[Notice]:
    """Set each widget key not yet in session state from the URL or its default."""
    notices = []
    for p in params:
        if p.key in st.session_state:
            continue
        raw = st.query_params.get(p.name)
        if raw is None:
            st.session_state[p.key] = p.default
            continue
        value, changed = parse(p, raw)
        st.session_state[p.key] = value
        if changed:
            notices.append(Notice(p.name, raw[:40], value))
    return notices


def show_notices(notices: Sequence[Notice]) -> None:
    for n in notices:
        st.warning(t("url.adjusted", name=n.name, raw=n.raw, used=n.used), icon=":material/link:")


def mirror(params: Sequence[Param]) -> None:
    """Write non-default values (and the language) to the URL; drop the rest."""
    wanted: dict[str, str] = {LANG_KEY: st.session_state.get(LANG_KEY, DEFAULT_LANG)}
    for p in params:
        value = st.session_state.get(p.key, p.default)
        if value != p.default:
            wanted[p.name] = format_value(value)
    for name in list(st.query_params.keys()):
        if name not in wanted:
            del st.query_params[name]
    for name, value in wanted.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
