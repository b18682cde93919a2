"""Share a state: a "copy link" control and a few named presets on each lesson.

The address bar always holds the lesson's deep link (``ui.state.mirror`` keeps it there), so
copying it needs no server: share.js copies ``location.href`` when the button is pressed, and
where the browser refuses the clipboard (plain http on a classroom network is not a secure
context) it shows the link selected, to copy by hand.

A named preset is a link: the parameters it sets are declared once, in its lesson's state.py, and every other
parameter of the lesson takes its default, so pressing a preset shows exactly what opening its
link would. tests/app/test_share.py opens each preset and checks the page shows what its name
promises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import streamlit as st

from ui.i18n import t
from ui.state import Param, parse

HERE = Path(__file__).resolve().parent
_copy_element = st.components.v2.component(
    "bn_lab.copy_link",
    js=(HERE / "share.js").read_text(encoding="utf-8"),
    css=(HERE / "share.css").read_text(encoding="utf-8"),
)


@dataclass(frozen=True)
class Preset:
    id: str  # its name is the catalog key share.<lesson>.<id>
    query: str  # the link parameters it sets, as in the lesson's link: "section=eps&eps=0"

    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


def values(params: Sequence[Param], preset: Preset) -> dict[str, object]:
    """Every parameter's value under ``preset``: the one it names (parsed as a link value), else the default."""
    named = preset.params()
    return {p.key: parse(p, named[p.name])[0] if p.name in named else p.default for p in params}


def apply(params: Sequence[Param], preset: Preset, after: Callable[[], None] | None, menu: str = "") -> None:
    """A preset button's callback: set the lesson's state as its link would, and close the presets' menu
    (left open, it covers the lesson's first line and controls)."""
    for key, value in values(params, preset).items():
        st.session_state[key] = value
    if menu:
        st.session_state[menu] = False
    if after is not None:
        after()


def share_bar(
    lesson: str, params: Sequence[Param], presets: Sequence[Preset] = (), after: Callable[[], None] | None = None
) -> None:
    """The copy-link control and the lesson's presets (declared in its state.py), in one row under the lesson's
    title. ``after`` runs once a preset has set the state (e.g. to tell a live element its values moved)."""
    with st.container(horizontal=True, vertical_alignment="center", key=f"share.{lesson}", gap="small"):
        _copy_element(
            key=f"share.copy.{lesson}",
            data={k: t(f"share.{k}") for k in ("copy", "copied", "fallback", "help")},
            width="content",
        )
        if presets:
            menu = f"share-menu-{lesson}"  # its open state, so that a choice can close it
            with st.popover(t("share.presets"), icon=":material/bookmarks:", key=menu, on_change="rerun"):
                for preset in presets:
                    st.button(
                        t(f"share.{lesson}.{preset.id}"),
                        on_click=apply,
                        args=(params, preset, after, menu),
                        key=f"share.{lesson}.{preset.id}",
                        width="stretch",
                    )
