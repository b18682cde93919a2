"""One-time messages a page shows after what a student did: a start refused by a limit, a run lost
or stopped, a download done. A callback (or a fragment before ``st.rerun``) posts one; the page
draws it where it belongs.

A message lasts until the student's next action, not just one script run: Streamlit stops a run
when another rerun arrives (a click while the page is still loading, the tab's id reported by
ui/session.js a moment after the page appeared), and a message dropped in the interrupted run, or
by the rerun the tab's id causes, would be lost unseen. So a posted message is dropped at the start
of the first run (the page's, or a lesson part's own: ui/frame.py) after one that drew it ended
normally, unless the page itself asked for that run (``hold``, ``rerun_page``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st

Level = Literal["info", "success", "warning", "error"]
BOX = "bn_lab.notices"  # key -> Entry
DRAWN = "drawn"
HOLD = "bn_lab.notices_hold"  # the coming run is not the student's doing
HELD = "bn_lab.notices_held"  # whether the run under way is the page's own (set as it starts)


@dataclass
class Entry:
    level: Level
    text: str
    icon: str | None
    seen: bool | str = False  # False (posted), DRAWN (drawn in a run not ended yet), True (drawn in a run that ended)


def post(key: str, level: Level, text: str, icon: str | None = None) -> None:
    st.session_state.setdefault(BOX, {})[key] = Entry(level, text, icon)


def draw(key: str) -> None:
    """Draw the message posted under ``key``, if any (it stays posted: see the module's doc)."""
    entry = st.session_state.get(BOX, {}).get(key)
    if entry is not None:
        getattr(st, entry.level)(entry.text, icon=entry.icon)
        entry.seen = entry.seen or DRAWN


def hold() -> None:
    """The next run is the page's own (not a student's action): keep every message for it."""
    st.session_state[HOLD] = True


def rerun_page() -> None:
    """Run the whole page again at the page's own request (a run ended, a download finished, the
    polling pace changed), not the student's: every message stays for that run."""
    hold()
    st.rerun(scope="app")


def run_starting() -> None:
    """At the start of every full run (app.py) and of a lesson part's own run (ui/frame.py): drop the
    messages a run that ended has shown."""
    s = st.session_state
    box = s.get(BOX)
    s[HELD] = bool(s.pop(HOLD, False))
    if s[HELD] or not box:
        return
    for key in [k for k, entry in box.items() if entry.seen is True]:
        del box[key]


def held() -> bool:
    """Whether the run under way is the page's own (``hold``), not a student's action."""
    return bool(st.session_state.get(HELD))


def run_ended() -> None:
    """At the end of a run that was not interrupted (app.py; a fragment's own run in ui/frame.py):
    what it drew has been seen."""
    for entry in st.session_state.get(BOX, {}).values():
        if entry.seen == DRAWN:
            entry.seen = True
