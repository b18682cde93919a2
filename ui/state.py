"""Page state declared once, restored from the URL, and mirrored back to it.

A lesson lists its ``Param``s; ``restore`` fills session state when a widget
key is missing: from the URL (untrusted input: clamped or ignored, with one
notice), else from the copy ``mirror`` kept, else the default. ``mirror`` writes
the current values back so that the address bar always holds a link that
reproduces the page, and keeps a copy outside the widgets: Streamlit drops the
widget keys of a page that is not shown, so without it a student who leaves a
lesson and comes back would find it reset.
"""

from __future__ import annotations

import contextlib
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitWidgetAlreadyInstantiatedError

from ui import notice, present
from ui.i18n import DEFAULT_LANG, LANG_KEY, num, t

KEPT = "state.kept"  # {widget key: last value}: plain session state, which survives page changes
NOTICE = "state.notice"  # "drawn" by show_notices, "mirrored" once mirror() ran after it in the same run
NOTICE_TEXT = "state.notice_text"  # the link notice's text, drawn again in a run the page asked for itself
SHOWN_CHANGES = 3  # a notice names at most this many changes, then "and N more"
RAW_CHARS = 24  # a raw link value is shown cut to this many characters


@dataclass(frozen=True)
class Param:
    """One piece of page state: its URL name, widget key, default and bounds.

    ``kind`` is ``"float"``, ``"int"``, ``"choice"`` or ``"bool"``; numbers are
    clamped to [lo, hi]; with ``options`` a number snaps to the nearest option.
    ``label`` is the catalog key of the control's label and ``show`` turns a value
    into what the page shows for it (a choice's translated name): the link notice
    uses both, and falls back to the URL name and a plain rendering.
    """

    name: str
    key: str
    default: Any
    kind: str = "float"
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    options: tuple[float, ...] = ()
    label: str = ""
    show: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class Notice:
    name: str
    raw: str
    used: Any
    param: Param | None = None


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
    """Set each widget key missing from session state (or None): from the URL if it names the
    parameter, else from the value ``mirror`` kept when the page was last shown,
    else from the default. Returns a notice for each URL value that was not usable as is.

    A key already set is set again to its own value: Streamlit then sends the widget with that value
    (not only with its default, the first option of a select slider). Without it, a page whose first
    run was cut short by the next (the tab's id reported while the browser still mounted the widgets,
    or a press then) could show a widget at its default while the server held the link's value, and the
    next press sent the default back: seen under load, a link's 512 units became 16 and its batch of
    2 a batch of 1, so Play refused silently."""
    kept = st.session_state.get(KEPT, {})
    notices = []
    for p in params:
        held = st.session_state.get(p.key)
        if held is not None:  # (a choice the browser sent without a value is None)
            with contextlib.suppress(StreamlitWidgetAlreadyInstantiatedError):  # drawn already in this run
                st.session_state[p.key] = held  # said again: its widget is sent with its value (see above)
            continue
        raw = st.query_params.get(p.name)
        if raw is not None:
            value, changed = parse(p, raw)
            if changed:
                notices.append(Notice(p.name, raw[:200], value, p))
        else:
            value = kept.get(p.key, p.default)
        st.session_state[p.key] = value
    return notices


def show_notices(notices: Sequence[Notice]) -> None:
    """One compact notice for every value the link could not use. It is gone on the student's next
    action: restore() finds the keys set, and mirror() turns a fragment's rerun into a full one. A run
    the page asked for itself (the tab's id reported a moment after the page appeared: ui.notice.hold)
    draws it again, or it would vanish before anyone could read it."""
    s = st.session_state
    if notices:
        changes = [change_text(n) for n in notices[:SHOWN_CHANGES]]
        if len(notices) > SHOWN_CHANGES:
            changes.append(t("url.more", n=len(notices) - SHOWN_CHANGES))
        s[NOTICE_TEXT] = t("url.adjusted", changes=t("url.separator").join(changes))
    elif not notice.held():
        s.pop(NOTICE_TEXT, None)
    if NOTICE_TEXT not in s:
        s.pop(NOTICE, None)
        return
    st.warning(s[NOTICE_TEXT], icon=":material/link:")
    s[NOTICE] = "drawn"


def change_text(notice: Notice) -> str:
    p = notice.param
    label = t(p.label) if p is not None and p.label else f"`{notice.name}`"
    used = shown_value(p, notice.used) if p is not None else literal(str(notice.used))
    return t("url.change", label=label, used=used, raw=literal(notice.raw))


def shown_value(param: Param, value: Any) -> str:
    """A value as a person reads it: the lesson's own rendering, on/off, or a number in the page's notation."""
    if param.show is not None:
        return param.show(value)
    if isinstance(value, bool):
        return t("common.on") if value else t("common.off")
    if isinstance(value, int):
        return num(value, ",d")
    if isinstance(value, float):
        return num(value, ".4g")
    return literal(str(value))


def literal(raw: str, limit: int = RAW_CHARS) -> str:
    """``raw`` as Markdown that shows it character for character: control and
    formatting characters (newlines, bidi overrides) become U+FFFD, a long value is
    cut, and the rest goes into a code span, where no Markdown, HTML, link or image
    is interpreted. The fence is one backtick longer than any run inside."""
    if not raw.strip():
        return t("url.empty")
    clean = "".join(_visible(ch) for ch in raw)
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    longest = run = 0
    for ch in clean:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    return f"{fence} {clean} {fence}"  # the spaces are stripped by Markdown; they let `clean` start with "`"


def _visible(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Zs":  # no-break, ideographic and other spaces
        return " "
    return "\ufffd" if category[0] == "C" or category in ("Zl", "Zp") else ch


def value(key: str) -> Any:
    """A lesson value by its widget key, also in a callback run after a run that did not draw its
    widget (another section's): Streamlit has dropped the key then, and restore() only puts it
    back when the page runs, after the callbacks. The copy mirror() kept holds it meanwhile."""
    s = st.session_state
    return s[key] if key in s else s.get(KEPT, {})[key]


def current(param: Param) -> Any:
    """``param``'s value in a callback, where restore() has not run yet: the widget's, else what
    restore() will find (the link's, the kept copy, the default). A choice can arrive as None: the
    browser sent it without its value once, when a button was pressed while the page still mounted."""
    s = st.session_state
    if s.get(param.key) is not None:
        return s[param.key]
    raw = st.query_params.get(param.name)
    if raw is not None:
        return parse(param, raw)[0]
    return s.get(KEPT, {}).get(param.key, param.default)


def forget_notice() -> None:
    """Called by the frame at the start of every full run: a notice belongs to the run that drew it."""
    st.session_state.pop(NOTICE, None)


def mirror(params: Sequence[Param]) -> None:
    """Write non-default values (and the language) to the URL and drop every other
    parameter; keep a copy of every value for when the page is shown again."""
    kept = st.session_state.setdefault(KEPT, {})
    wanted: dict[str, str] = {LANG_KEY: st.session_state.get(LANG_KEY, DEFAULT_LANG), **present.link_params()}
    present.apply(params)
    for p in params:
        value = st.session_state.get(p.key, p.default)
        kept[p.key] = value
        if value != p.default:
            wanted[p.name] = format_value(value)
    if st.query_params.to_dict() != wanted:  # one message to the browser, not one per changed parameter
        st.query_params.from_dict(wanted)
    notice = st.session_state.get(NOTICE)
    if notice == "drawn":
        st.session_state[NOTICE] = "mirrored"
    elif notice == "mirrored":  # a fragment reran without the page around it: redraw all, without the notice
        del st.session_state[NOTICE]
        st.rerun(scope="app")


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
