"""What the sections of the `inside` lesson share."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from streamlit.delta_generator import DeltaGenerator

from ui.frame import controls_beside
from ui.i18n import t


def labels(prefix: str, options: Iterable[str]) -> dict[str, str]:
    """Each option's text in the page's language, looked up now: a widget's ``format_func``
    is also called outside the page run (by AppTest), where the language is unknown."""
    return {v: t(f"{prefix}{v}") for v in options}


def beside_controls(controls: Callable[[], None]) -> DeltaGenerator:
    """Draw a section's controls in a narrow left column; returns the wide column beside it."""
    panel, view = controls_beside()
    with panel:
        controls()
    return view
