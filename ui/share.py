"""Share a state: a "copy link" control and a few named presets on each lesson.

The address bar always holds the lesson's deep link (``ui.state.mirror`` keeps it there), so
copying it needs no server: share.js copies ``location.href`` when the button is pressed, and
where the browser refuses the clipboard (plain http on a classroom network is not a secure
context) it shows the link selected, to copy by hand.

A named preset is a link: the parameters it sets are declared once, below, and every other
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


PRESETS: dict[str, tuple[Preset, ...]] = {
    "neuron": (
        # z = -0.5 x1 - 0.5 x2 + 1 has mean -4 and std 0.71 with the default inputs N(5, 1): ReLU zeroes all of it
        Preset("dead_relu", "w1=-0.5&w2=-0.5"),
        # the same weights with BN before the ReLU: half of the outputs come back
        Preset("bn_revives", "w1=-0.5&w2=-0.5&bn=1"),
        # sigmoid with a large z: most outputs pressed against 1
        Preset("saturated", "act=sigmoid&w1=1&w2=1"),
    ),
    "bn_lab": (
        Preset("batch_of_one", "section=one"),
        Preset("keras_puzzle", "section=puzzle"),
        Preset("eps_zero_constant", "section=eps&conv=keras&dist=constant&eps=0"),
    ),
    "train": (
        Preset("bn_vs_none", "preset=figure1"),
        Preset("high_lr", "preset=high_lr"),
        Preset("small_gain", "preset=classic"),
    ),
    "inside": (
        Preset("noisy_batches", "section=noise&nb=2"),
        Preset("devices_disagree", "section=devices&b=2&shift=3"),
    ),
}


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


def share_bar(lesson: str, params: Sequence[Param], after: Callable[[], None] | None = None) -> None:
    """The copy-link control and the lesson's presets, in one row under the lesson's title.
    ``after`` runs once a preset has set the state (e.g. to tell a live element its values moved)."""
    with st.container(horizontal=True, vertical_alignment="center", key=f"share.{lesson}", gap="small"):
        _copy_element(
            key=f"share.copy.{lesson}",
            data={k: t(f"share.{k}") for k in ("copy", "copied", "fallback", "help")},
            width="content",
        )
        presets = PRESETS.get(lesson, ())
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
