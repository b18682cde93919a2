"""A pair of runs: asked for (computed once on the server at full speed by serve.runner, through ui.runs),
followed while it computes, and played back in the browser (ui.player)."""

from __future__ import annotations

import streamlit as st

from bn_core import data as digit_data
from bn_core import train as tr
from lessons.train.settings import chosen_config, describe, norm_name, pair, speed
from lessons.train.state import (
    ACTIVE,
    AUTOPLAY,
    CHOSEN,
    COUNTER,
    GROUPS,
    MAX_GROUPS,
    NOTICE,
    RESTART,
    WHOLE_PAGE,
)
from serve.limits import LimitReached
from serve.records import RunView
from ui import notice, player, runs
from ui.i18n import num, seconds, t


def play() -> None:
    """Ask the server for the pair's records (computed once for everyone who asks; at once if
    stored) and play them back from step 0."""
    s = st.session_state
    config = chosen_config()
    directory = str(digit_data.mnist_dir()) if config.dataset == "mnist" else None
    try:
        keys = runs.request(pair(config), directory)
    except LimitReached as err:
        notice.post(NOTICE, "warning", runs.limit_text(err))
        return
    except ValueError:  # settings the widgets cannot produce (a hand-edited state): the page lists them
        return
    if s.get(ACTIVE) and s[ACTIVE] != keys:
        runs.release(s[ACTIVE])
    s[COUNTER] = s.get(COUNTER, 0) + 1
    s[ACTIVE], s[AUTOPLAY] = keys, player_key(keys)
    s[RESTART] = s.get(RESTART, 0) + 1  # the player starts this record from step 0 and plays
    s["train.group_name"] = group_name(s[COUNTER], s["train.preset"], config)


def pace_controls(disabled: bool) -> None:
    """Play (compute the pair once on the server, or take its stored record, and play it from step 0)
    and the playback speed. Pause, Step, Reset and the scrub bar are the player's own."""
    cols = st.columns([1.4, 2.6], vertical_alignment="bottom")
    cols[0].button(
        t("train.play"),
        type="primary",
        on_click=play,
        icon=":material/model_training:",  # not the player's Play triangle: this one computes
        key="train.start",
        width="stretch",
        disabled=disabled,
        help=t("train.start_help", n=MAX_GROUPS),
    )
    cols[1].segmented_control(
        t("train.speed"),
        player.SPEED_NAMES,
        key="train.speed",
        required=True,
        width="stretch",
        help=t("train.speed_help"),
    )


def group_name(number: int, preset: str, config: tr.TrainConfig) -> str:
    what = t(f"train.preset_{preset}") if preset in tr.PRESETS else describe(config)
    return f"#{number} {what}"


def stop() -> None:
    """This page no longer waits for its computation (it stops unless another page wants it too). The
    button is in the polled fragment: the whole page runs next, to say so and stop polling."""
    runs.release(st.session_state.pop(ACTIVE, []))
    notice.post(NOTICE, "info", t("train.stopped_computing"))
    st.session_state[WHOLE_PAGE] = True


def keep(name: str, views: list[RunView]) -> None:
    s = st.session_state
    groups = s.setdefault(GROUPS, [])
    groups.append({"name": name, "runs": views})
    del groups[:-MAX_GROUPS]
    s.pop(CHOSEN, None)  # the newest group is shown when it is computed


def remove_group(index: int) -> None:
    groups = st.session_state.get(GROUPS, [])
    if 0 <= index < len(groups):
        groups.pop(index)
    st.session_state.pop(CHOSEN, None)


def player_key(keys: list[str]) -> str:
    return "".join(k[:10] for k in keys)


def poll_seconds() -> float | None:
    """Once a second while this page waits for a computation; None otherwise (a record plays in the browser)."""
    active = st.session_state.get(ACTIVE, [])
    return runs.POLL_SECONDS if active and runs.computing(runs.views(active)) else None


def live() -> None:
    """While a computation goes on: its progress, and the player with what is computed so far (the
    page runs this as a fragment once a second). Then the record, played back in the browser."""
    s = st.session_state
    if s.pop(WHOLE_PAGE, False):
        notice.rerun_page()
    ids = s.get(ACTIVE, [])
    views = runs.views(ids)
    if ids and any(v is None for v in views):  # forgotten: this session was gone for too long
        s.pop(ACTIVE, None)
        notice.post(NOTICE, "warning", t("train.lost"))
        notice.rerun_page()
    if views and not runs.computing(views):
        s.pop(ACTIVE, None)
        done = [v for v in views if v.state == "finished"]
        failed = [v for v in views if v.state != "finished"]
        if failed:
            notice.post(NOTICE, *runs.failure_notice(failed[0]))
        if done:
            keep(s.get("train.group_name", ""), done)
        notice.rerun_page()  # the whole page: results, and no more polling
    if views:
        progress(views)
        show(views, ids)
        return
    groups = s.get(GROUPS, [])
    if groups:
        chosen = min(s.get(CHOSEN, len(groups) - 1), len(groups) - 1)
        show(groups[chosen]["runs"], [v.run_id for v in groups[chosen]["runs"]])
    else:
        st.info(t("train.empty"), icon=":material/play_circle:")


def progress(views: list[RunView]) -> None:
    """Where the computation stands: its place in the queue, or the steps computed so far."""
    queued = [v for v in views if v.state == "queued"]
    if queued:
        st.info(runs.queue_text(queued[0]), icon=":material/hourglass:")
    view = min(views, key=lambda v: v.done)  # the slower of a pair
    lefts = [v.seconds_left for v in views if v.state == "running"]
    left = t("train.left", left=seconds(max(lefts))) if lefts and None not in lefts else "…"
    text = t("train.computing", step=num(view.done, ",d"), steps=num(view.total, ",d"), left=left)
    left_col, right_col = st.columns([3, 1], vertical_alignment="bottom")  # room for «Остановить»
    left_col.progress(min(view.done / view.total, 1.0) if view.total else 0.0, text=text)
    right_col.button(t("train.stop"), on_click=stop, icon=":material/stop_circle:", key="train.stop", width="stretch")


def show(views: list[RunView], keys: list[str]) -> None:
    """The pair's records in the player, with a line saying what the student is watching."""
    if not any(player.measures_of(v) for v in views):
        return
    finished = [v for v in views if v.state == "finished"]
    if len(finished) == len(views):
        took = max(v.compute_seconds or 0.0 for v in views)
        st.caption(t("train.record_note", seconds=seconds(took)), help=t("train.record_help"))
    s, key = st.session_state, player_key(keys)
    player.draw(
        "train.player",
        key,
        [(norm_name(v.config.norm), short_name(v.config.norm), v) for v in views],
        speed=speed(),
        restart=s.get(RESTART) if s.get(AUTOPLAY) == key else None,
        layer=len(views[0].config.widths),
    )


def short_name(norm: str) -> str:
    return t(f"player.short_{'none' if norm == 'none' else 'norm'}")
