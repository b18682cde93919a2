"""What every page shares: its header, the guard that keeps tracebacks out
of the page, the notice for lessons not built yet, and the page for an
address that names no page."""

from __future__ import annotations

import gc
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import pandas  # noqa: F401 - see below
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import notice
from ui.i18n import t
from ui.lessons import HOME, LESSONS
from ui.state import Param, mirror, restore

# pandas is imported above, once, before any session runs, rather than lazily by the first page
# that needs it: Plotly peeks at sys.modules for pandas, and a session that found it half
# imported by another session failed ("partially initialized module 'pandas'", seen under load).

log = logging.getLogger("bn_lab")
timing = logging.getLogger("bn_lab.timing")

if level := os.environ.get("BN_LAB_LOG_LEVEL"):  # e.g. DEBUG: also log how long each page run takes
    log.setLevel(level.upper())
    log.addHandler(logging.StreamHandler())


@st.cache_resource
def freeze_imports(after: str) -> None:
    """Once per server process and per ``after`` (what was just imported): take every object
    alive now, the imported modules above all, out of the cyclic garbage collector's reach.
    A full collection walks all of them while it holds the GIL, so every session of the server
    stalls: 45 ms with Streamlit and Plotly imported, 110 ms with torch too (measured; Python
    starts one whenever enough objects have piled up). After gc.freeze() it takes microseconds.
    Frozen objects are still freed by reference counting as usual."""
    gc.freeze()
    log.debug("froze %d objects after %s", gc.get_freeze_count(), after)


PANEL = "lesson_panel"  # the key of the container that holds a lesson's controls beside its charts
# On a phone (Streamlit stacks columns below 640 px) the controls would push the charts they move
# off the screen: their column stays at the top instead (below Streamlit's 3.75 rem header),
# scrolling inside when taller than 40 % of the screen, and the charts scroll into view below it.
# The train lesson's Play, Step and Reset share one row there, and its charts come before the
# experiment's description, so that what Play moves is on the screen with Play.
PHONE_CSS = f"""<style>
[class*="st-key-lead-"] {{
  border-left: 0.3rem solid #1f5fbf; background: #eef3fb; padding: 0.6rem 0.9rem 0.8rem; border-radius: 0.3rem;
}}
[class*="st-key-lead-"] [data-testid="stMarkdownContainer"] {{ margin-bottom: 0; }}
[class*="st-key-lead-"] p {{ font-size: 1.12rem; line-height: 1.5; margin: 0; color: #1b1b1b; }}
@media (max-width: 640px) {{
  .stColumn:has(.st-key-{PANEL}):not(:has(.stColumn .st-key-{PANEL})) {{
    position: sticky; top: 3.75rem; z-index: 3; max-height: 40vh; overflow-y: auto; overscroll-behavior: contain;
    background: #fff; box-shadow: 0 8px 6px -6px rgba(49, 51, 63, 0.3); padding-bottom: 0.5rem;
  }}
  .js-plotly-plot .modebar-container {{ display: none; }}  /* no hover on a phone: it would sit on the titles */
  .katex-display {{ overflow-x: auto; overflow-y: hidden; }}  /* a long formula scrolls sideways, not cut */
}}
</style>"""


# Text colours readable by everyone (WCAG AA asks 4.5:1; tests/browser/axe.py checks every page): Streamlit draws
# captions at 60 % opacity (#828180 on white, 3.9:1), a disabled control's label at 40 % (2.3:1) and numbers
# in code in #09ab3b (3.0:1).
FRAME_CSS = """<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {
  color: #5f5e5c !important; opacity: 1 !important;
}
label[data-testid="stWidgetLabel"][disabled] { color: rgba(47, 45, 43, 0.7) !important; }
[data-testid="stCode"] .token.number, [data-testid="stCode"] .token.string { color: #0b7a35 !important; }
</style>"""


def header(page: str, css: str = "") -> None:
    """The page's title and lead, and the frame's style with the page's own (``css``: a <style> element)."""
    st.title(t(f"{page}.title"))
    st.caption(t(f"{page}.lead"))
    st.html(PHONE_CSS + FRAME_CSS + css)  # also in the sidebar (app.py): whichever a rerun has drawn first


def lead(key: str) -> None:
    """A section's first line, *do this → see that* (catalog ``lead.<key>``): what to move and what
    it shows, above the section's controls and charts, in view without scrolling (tests/browser)."""
    with st.container(key=f"lead-{key}"):
        st.markdown(":material/touch_app: " + t(f"lead.{key}"))


def controls_beside() -> tuple[DeltaGenerator, DeltaGenerator]:
    """A narrow column for a lesson's controls and a wide one for what they move (see PHONE_CSS)."""
    panel, view = st.columns([1, 2.6], gap="large")
    return panel.container(key=PANEL), view


def beside_controls(controls: Callable[[], None]) -> DeltaGenerator:
    """Draw a section's controls in the narrow column; returns the wide column beside it."""
    panel, view = controls_beside()
    with panel:
        controls()
    return view


def guarded(body: Callable[[], None], name: str = "page") -> None:
    """Run a page body (or a fragment's); an unexpected error becomes a message
    in the user's language (details go to the server log), never a traceback.
    The run's duration goes to the ``bn_lab.timing`` log at DEBUG level."""
    start = time.perf_counter()
    try:
        body()
    except Exception:  # noqa: BLE001 - the last line of defence; st.stop/st.rerun are BaseExceptions
        log.exception("%s failed", name)
        st.error(t("error.unexpected"), icon=":material/error:")
    finally:
        timing.debug("%s ran in %.2f ms", name, (time.perf_counter() - start) * 1000)


def live_part(body: Callable[[], None], name: str, params: Sequence[Param]) -> None:
    """Run ``body`` (a lesson's controls and what they move), then mirror ``params`` to the link,
    as a fragment: moving a control inside it reruns only this part, not the frame, the title,
    the share bar or the questions below. A class of 30 moving sliders is one process's load:
    a slider release on `inside` (devices) sent 43 messages with the whole page, 24 as a fragment
    (benchmarks/page_reruns.py). Whatever such a control changes must be drawn inside ``body``."""
    st.fragment(_live_part)(body, name, params)


def _live_part(body: Callable[[], None], name: str, params: Sequence[Param]) -> None:
    def run() -> None:
        own = own_run()  # a control in it moved: app.py did not run
        if own:
            notice.run_starting()
        # Streamlit drops the keys of widgets a run did not draw (another section's): a full run
        # has restored them before this, a fragment's own run restores them here (from the link
        # and the copy mirror keeps, which hold the same values: no notice to show).
        restore(params)
        body()
        mirror(params)
        if own:
            notice.run_ended()

    guarded(run, name)


def own_run() -> bool:
    """Whether this run is a fragment's own rerun (not the whole page's)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def not_built_yet(page: str) -> None:
    header(page)
    st.info(t("common.not_built"), icon=":material/construction:")
    st.markdown(t(f"{page}.plan"))
    mirror(())  # a placeholder keeps no link parameter but the language


def missing_page() -> st.Page | None:
    """A hidden page for the address the browser asked for, when it names no page of the
    app: Streamlit would otherwise run the home page under an English "Page not found"
    dialog. This page says so in the student's language instead. Only a single path
    segment can be a page's URL path, so a nested wrong path still gets Streamlit's dialog."""
    name = urlsplit(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    if name in {lesson.url_path for lesson in (HOME, *LESSONS)} or not re.fullmatch(r"[\w.-]{1,80}", name):
        return None
    return st.Page(page_not_found, title=t("error.not_found_title"), url_path=name, visibility="hidden")


def page_not_found() -> None:
    st.title(t("error.not_found_title"))
    st.info(t("error.not_found"), icon=":material/explore_off:")
    st.page_link(HOME.path, label=t("nav.home"), icon=HOME.icon)
    mirror(())
