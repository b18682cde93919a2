"""Section `stats`, live: the digit model trained with batch statistics and with running statistics
from the same weights, through the `train` lesson's runner (one for the whole server: its limit on
concurrent runs and its queue hold for both lessons). This module submits, polls, stops and cleans up."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from bn_core import train as tr
from bn_core.data import mnist_dir
from bn_core.runner import LimitReached, RunView
from lessons.inside import figures
from lessons.train.sections import (
    POLL_SECONDS,
    SPEED_NAMES,
    failure_notice,
    limit_text,
    load_dataset,
    poll_state,
    runner,
    steps_per_second,
)
from ui import notice
from ui import session as page_session
from ui.frame import guarded
from ui.i18n import num, pct, t
from ui.state import Param, current

LR_OPTIONS = (0.01, 0.03, 0.1, 0.3)
BATCH_OPTIONS = (2, 4, 8, 16, 32, 64, 128)
GAP_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)  # batch sizes at which the trained weights run in training mode
MODES = tr.BN_STATS  # ("batch", "running"): the pair, in this order
PACE = Param("pspeed", "inside.pair_speed", "20", kind="choice", choices=SPEED_NAMES, label="train.speed")
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
ACTIVE = "inside.pair_active"  # this session's two run ids while they are queued or training
DONE = "inside.pair_done"  # the last finished pair: {"views": [RunView], "gaps": [tr.Gap] or None}
POLLED = "inside.pair_polled"  # the run state the polling interval was chosen for
REFUSED = "inside.pair_refused"  # why the runner refused the last start (a ui.notice)
NOTICE = "inside.pair_notice"  # how the last pair ended, without results (a ui.notice)


def configs() -> list[tr.TrainConfig]:
    s = st.session_state
    lr, batch_size, seed = float(s["inside.pair_lr"]), int(s["inside.pair_b"]), int(s["inside.pair_seed"])
    base = replace(tr.STATS_PAIR, lr=lr, batch_size=batch_size, seed=seed)
    return [replace(base, bn_stats=mode) for mode in MODES]


def speed() -> float | None:
    return steps_per_second(current(PACE))


def start() -> None:
    """Queue the pair together (or neither: past the server's queue or this page's limit, say why).
    The runs belong to this page's session: they live as long as Streamlit keeps it."""
    reset()
    try:
        st.session_state[ACTIVE] = runner().submit_many(configs(), speed=speed(), owner=page_session.session_id())
    except LimitReached as err:
        notice.post(REFUSED, "warning", limit_text(err), icon=":material/block:")


def stop() -> None:
    for run_id in st.session_state.get(ACTIVE, []):
        runner().stop(run_id)


def reset() -> None:
    """Forget the pair, running or finished."""
    s = st.session_state
    for run_id in s.pop(ACTIVE, []):
        runner().forget(run_id)
    s.pop(DONE, None)


def controls() -> None:
    s = st.session_state
    busy = bool(s.get(ACTIVE))
    lr, size, pace, seed = st.columns([1, 1, 1.5, 0.9])  # the pace's five buttons need room ("макс")
    lr.select_slider(t("inside.lr"), LR_OPTIONS, format_func=lambda v: num(v, "g"), key="inside.pair_lr", disabled=busy)
    size.select_slider(t("inside.n"), BATCH_OPTIONS, key="inside.pair_b", disabled=busy)
    pace.segmented_control(
        t("train.speed"),
        SPEED_NAMES,
        format_func=lambda v: t("train.speed_max") if v == "max" else v,
        required=True,
        key="inside.pair_speed",
        disabled=busy,
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


def poll_seconds() -> float | None:
    """The live part's polling interval; None (no polling) when this session has no active pair."""
    s = st.session_state
    if not s.get(ACTIVE):
        s.pop(POLLED, None)
        return None
    views = [runner().view(r) for r in s.get(ACTIVE, [])]
    s[POLLED] = poll_state([v for v in views if v is not None])
    return POLL_SECONDS.get(s[POLLED])


def live() -> None:
    """The pair's progress and test-accuracy curves; a fragment polled while the pair is active."""
    guarded(_live, "inside.pair")


def _live() -> None:
    s = st.session_state
    ids = s.get(ACTIVE, [])
    views = [runner().view(r) for r in ids]
    if ids and any(v is None for v in views):  # the runner forgot them: this page stopped polling for too long
        reset()
        notice.post(NOTICE, "warning", t("train.lost"))
        notice.rerun_page()
    if views and not any(v.active for v in views):
        finish(views)
        notice.rerun_page()  # the whole page: the results, and no more polling
    if views and poll_state(views) != s.get(POLLED):
        notice.rerun_page()  # queued -> running: poll at the training pace
    if views:
        progress(views)
    shown = views or s.get(DONE, {}).get("views", [])
    curves = [(t(f"inside.mode_{v.config.bn_stats}"), measures(v)) for v in shown]
    if any(ms for _, ms in curves):
        lines = [(name, np.array([m.step for m in ms]), np.array([m.test_accuracy for m in ms])) for name, ms in curves]
        st.plotly_chart(
            figures.step_lines(
                lines,
                title=t("inside.pair_chart"),
                x_title=t("train.step_axis"),
                y_title=t("train.test_accuracy"),
            ),
            key="inside.chart_pair",
        )
    elif not views:
        st.info(t("inside.pair_empty"), icon=":material/play_circle:")


def measures(view: RunView) -> list[tr.Measure]:
    return view.history.measures if view.history is not None else view.measures


def finish(views: list[RunView]) -> None:
    """Keep the ended pair (with the batch-statistics model's train/eval gap) and free the runs."""
    s = st.session_state
    s.pop(ACTIVE, None)
    failed = [v for v in views if v.state != "finished"]
    if failed:
        notice.post(NOTICE, *failure_notice(failed[0]))
    done = [v for v in views if v.state == "finished"]
    if done:
        s[DONE] = {"views": done, "gaps": gaps(done[0]) if done[0].config.bn_stats == "batch" else None}
    for v in views:
        runner().forget(v.run_id)


def gaps(view: RunView) -> list[tr.Gap] | None:
    """The batch-statistics model in training mode at each of GAP_SIZES against eval mode, on the test set."""
    if view.history is None or view.history.model is None or view.history.stopped == "diverged":
        return None
    data = load_dataset(view.config.dataset, str(mnist_dir()))
    return [tr.train_eval_gap(view.history.model, data.x_test, data.y_test, b) for b in GAP_SIZES]


def progress(views: list[RunView]) -> None:
    queued = [v for v in views if v.state == "queued"]
    if queued:
        st.info(t("train.queued", place=queued[0].place, limit=runner().max_concurrent), icon=":material/hourglass:")
    view = min(views, key=lambda v: v.done if v.active else float("inf"))  # the slower of the two still going
    total, per_epoch = view.total, view.total // view.config.epochs if view.total else 0
    epoch = min(view.done // per_epoch + 1, view.config.epochs) if per_epoch else 1
    text = t("train.counter", step=num(view.done, ",d"), steps=num(total, ",d"), epoch=epoch, epochs=view.config.epochs)
    st.progress(min(view.done / total, 1.0) if total else 0.0, text=text)


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
        if h.stopped == "user":
            column.caption(t("train.stopped"))
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
