"""Section `stats`, live: the digit model trained with batch statistics and with running statistics
from the same weights. The pair is computed once on the server (ui.runs: the runner every lesson
shares, with its limits and queue) and played back in the browser (ui.player)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from bn_core import train as tr
from bn_core.data import mnist_dir
from lessons.inside import figures
from serve.limits import LimitReached
from serve.records import RunView
from ui import notice, player, runs, train_script
from ui.code import code_for_this
from ui.frame import guarded
from ui.i18n import num, pct, seconds, t
from ui.state import Param, current

LR_OPTIONS = (0.01, 0.03, 0.1, 0.3)
BATCH_OPTIONS = (2, 4, 8, 16, 32, 64, 128)
GAP_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)  # batch sizes at which the trained weights run in training mode
MODES = tr.BN_STATS  # ("batch", "running"): the pair, in this order
PACE = Param("pspeed", "inside.pair_speed", "20", kind="choice", choices=player.SPEED_NAMES, label="train.speed")
PARAMS = (
    Param("plr", "inside.pair_lr", tr.STATS_PAIR.lr, lo=0.01, hi=0.3, options=LR_OPTIONS, label="inside.lr"),
    # no batch of 1: training-mode BatchNorm refuses it (the bn_lab lesson shows why)
    Param(
        "pb",
        "inside.pair_b",
        tr.STATS_PAIR.batch_size,
        kind="int",
        lo=2,
        hi=128,
        options=BATCH_OPTIONS,
        label="inside.n",
    ),
    PACE,
    Param("pseed", "inside.pair_seed", 0, kind="int", lo=0, hi=2**31 - 1, label="inside.seed"),
)
ACTIVE = "inside.pair_active"  # the pair's record keys while they are computed
DONE = "inside.pair_done"  # the last computed pair: {"views": [RunView], "gaps": [tr.Gap] or None}
RESTART = "inside.pair_restart"  # presses of Play so far (a new number plays the record from step 0)
REFUSED = "inside.pair_refused"  # why the runner refused the last start (a ui.notice)
NOTICE = "inside.pair_notice"  # how the last pair ended, without results (a ui.notice)


def configs() -> list[tr.TrainConfig]:
    """The pair for the settings (read as ``current`` reads them: in a callback, a setting can be missing or None
    while the page still mounts its widgets)."""
    v = {p.key: current(p) for p in PARAMS}
    lr, batch_size, seed = float(v["inside.pair_lr"]), int(v["inside.pair_b"]), int(v["inside.pair_seed"])
    base = replace(tr.STATS_PAIR, lr=lr, batch_size=batch_size, seed=seed)
    return [replace(base, bn_stats=mode) for mode in MODES]


def speed() -> float:
    return player.steps_per_second(current(PACE), PACE.default)


def start() -> None:
    """Ask for the pair's records (computed once for the server, or stored already); past the server's
    queue or this page's limit, say why. The player plays it from step 0."""
    s = st.session_state
    reset()
    try:
        s[ACTIVE] = runs.request(configs())
    except LimitReached as err:
        notice.post(REFUSED, "warning", runs.limit_text(err), icon=":material/block:")
        return
    s[RESTART] = s.get(RESTART, 0) + 1


def stop() -> None:
    runs.release(st.session_state.pop(ACTIVE, []))


def reset() -> None:
    """Forget the pair, computing or computed."""
    s = st.session_state
    runs.release(s.pop(ACTIVE, []))
    s.pop(DONE, None)


def controls() -> None:
    s = st.session_state
    runs.runner()  # the first visit starts the workers' forkserver while the student reads
    busy = bool(s.get(ACTIVE))
    lr, size, pace, seed = st.columns([1, 1, 1.5, 0.9])  # the pace's five buttons need room ("макс")
    lr.select_slider(t("inside.lr"), LR_OPTIONS, format_func=lambda v: num(v, "g"), key="inside.pair_lr", disabled=busy)
    size.select_slider(t("inside.n"), BATCH_OPTIONS, key="inside.pair_b", disabled=busy)
    pace.segmented_control(
        t("train.speed"), player.SPEED_NAMES, required=True, key="inside.pair_speed", help=t("train.speed_help")
    )
    seed.number_input(t("inside.seed"), 0, 2**31 - 1, step=1, key="inside.pair_seed", disabled=busy)
    notice.draw(REFUSED)
    left, right, _ = st.columns([1, 1, 2])
    if busy:
        left.button(
            t("train.stop"), on_click=stop, icon=":material/stop_circle:", key="inside.pair_stop", width="stretch"
        )
    else:
        left.button(
            t("inside.pair_start"),
            on_click=start,
            type="primary",
            icon=":material/play_arrow:",
            key="inside.pair_start",
            width="stretch",
        )
    right.button(
        t("inside.pair_reset"),
        on_click=reset,
        icon=":material/restart_alt:",
        key="inside.pair_reset",
        width="stretch",
        disabled=not busy and DONE not in s,
    )


def code() -> None:
    """The code for this: the pair's script (below its results, so that the player sits under its buttons)."""
    title = f"{t('inside.title')} · {t('inside.sec_stats')}"
    code_for_this(train_script.script(configs()[0], title, stats=True), "inside_stats.py", key="inside.pair_code")


def poll_seconds() -> float | None:
    """Once a second while the pair is computed; None (no polling) otherwise."""
    active = st.session_state.get(ACTIVE, [])
    return runs.POLL_SECONDS if active and runs.computing(runs.views(active)) else None


def live() -> None:
    """The pair's progress and test-accuracy curves; a fragment polled while the pair is active."""
    guarded(_live, "inside.pair")


def _live() -> None:
    s = st.session_state
    ids = s.get(ACTIVE, [])
    views = runs.views(ids)
    if ids and any(v is None for v in views):  # forgotten: this page was gone for too long
        reset()
        notice.post(NOTICE, "warning", t("train.lost"))
        notice.rerun_page()
    if views and not runs.computing(views):
        finish(views)
        notice.rerun_page()  # the whole page: the results, and no more polling
    if views:
        progress(views)
    shown = views or s.get(DONE, {}).get("views", [])
    if any(player.measures_of(v) for v in shown):
        if not views:
            took = max(v.compute_seconds or 0.0 for v in shown)
            st.caption(t("train.record_note", seconds=seconds(took)), help=t("train.record_help"))
        names = [t(f"inside.mode_{v.config.bn_stats}") for v in shown]
        player.draw(
            "inside.player",
            "".join(v.run_id[:10] for v in shown),
            [(name, name, v) for name, v in zip(names, shown, strict=True)],
            speed=speed(),
            restart=s.get(RESTART),
            layer=len(shown[0].config.widths),
        )
    elif not views:
        st.info(t("inside.pair_empty"), icon=":material/play_circle:")


def finish(views: list[RunView]) -> None:
    """Keep the computed pair (with the batch-statistics model's train/eval gap)."""
    s = st.session_state
    s.pop(ACTIVE, None)
    failed = [v for v in views if v.state != "finished"]
    if failed:
        notice.post(NOTICE, *runs.failure_notice(failed[0]))
    done = [v for v in views if v.state == "finished"]
    if done:
        s[DONE] = {"views": done, "gaps": gaps(done[0]) if done[0].config.bn_stats == "batch" else None}


def gaps(view: RunView) -> list[tr.Gap] | None:
    """The batch-statistics model in training mode at each of GAP_SIZES against eval mode, on the test set."""
    if view.history is None or view.history.model is None or view.history.stopped == "diverged":
        return None
    data = runs.load_dataset(view.config.dataset, str(mnist_dir()))
    return [tr.train_eval_gap(view.history.model, data.x_test, data.y_test, b) for b in GAP_SIZES]


def progress(views: list[RunView]) -> None:
    queued = [v for v in views if v.state == "queued"]
    if queued:
        st.info(runs.queue_text(queued[0]), icon=":material/hourglass:")
    view = min(views, key=lambda v: v.done if v.active else float("inf"))  # the slower of the two still going
    lefts = [v.seconds_left for v in views if v.state == "running"]
    left = t("train.left", left=seconds(max(lefts))) if lefts and None not in lefts else "…"
    text = t("train.computing", step=num(view.done, ",d"), steps=num(view.total, ",d"), left=left)
    st.progress(min(view.done / view.total, 1.0) if view.total else 0.0, text=text)


def results() -> None:
    """What the ended pair reached, and its batch-statistics model's train/eval gap."""
    s = st.session_state
    notice.draw(NOTICE)
    done = s.get(DONE)
    if not done:
        return
    for column, view in zip(st.columns(2), done["views"], strict=False):
        h = view.history
        name = t(f"inside.mode_{view.config.bn_stats}")
        if h.stopped == "diverged":
            column.warning(t("inside.pair_diverged", name=name, epoch=h.diverged_at), icon=":material/trending_up:")
            continue
        column.metric(t("inside.pair_accuracy", name=name), pct(h.test_accuracy))
        if h.stopped == "cap":
            column.caption(t("train.capped", step=num(h.measures[-1].step, ",d")))
    if done["gaps"]:
        gap_view(done["gaps"], done["views"][0].config.batch_size)


def gap_view(gaps: list[tr.Gap], batch_size: int) -> None:
    st.subheader(t("inside.gap_title"))
    left, right = st.columns([1.4, 1])
    left.plotly_chart(
        figures.gap_figure(
            np.array(GAP_SIZES),
            np.array([g.train_accuracy for g in gaps]),
            gaps[0].eval_accuracy,
            batch_size,
            names=(t("inside.gap_train"), t("inside.gap_eval"), t("inside.gap_run")),
            title=t("inside.gap_chart"),
            x_title=t("inside.n"),
            y_title=t("train.test_accuracy"),
        ),
        key="inside.chart_gap",
    )
    by_size = {g.batch_size: g for g in gaps}
    right.markdown(
        t(
            "inside.gap_text",
            eval=pct(gaps[0].eval_accuracy),
            small=pct(by_size[2].train_accuracy),
            mid=pct(by_size[64].train_accuracy),
        )
    )
