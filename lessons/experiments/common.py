"""What the sections of the `experiments` lesson share: the results that ship with the app, the
results this server has computed (the runner's record store, per configuration), and "run it
yourself" through the one run client (ui.runs: one server-wide queue)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from lessons.experiments import code
from serve import jobs
from serve.limits import LimitReached
from serve.records import run_key
from ui import notice, runs
from ui.code import code_for_this
from ui.i18n import num, pct, t

ACTIVE = "exp.active"  # this session's experiment while it runs: {"name", "run_id"}
NOTICE = "exp.notice"  # a ui.notice: a run refused, stopped or lost
POLL_SECONDS = 0.5
WHOLE_PAGE = "exp.whole_page"  # Stop, in the polled fragment, asked for a run of the whole page


@st.cache_resource(max_entries=8)
def shipped(name: str):
    """The precomputed result of an experiment's default configuration (read-only)."""
    return jobs.from_json(name, (jobs.SHIPPED / f"{name}.json").read_text(encoding="utf-8"))


def result_for(name: str, config):
    """(result, "shipped" | "computed") for ``config``, or (None, None) if nobody has computed it yet."""
    if shipped(name).config == config:
        return shipped(name), "shipped"
    [view] = runs.views([run_key(jobs.Job(name, config))])  # the record, or a run finished a moment ago
    return (view.result, "computed") if view is not None and view.state == "finished" else (None, None)


@st.cache_resource(max_entries=8)
def shipped_machine(name: str) -> dict:
    return jobs.stored_machine((jobs.SHIPPED / f"{name}.json").read_text(encoding="utf-8")) or {}


def defaults_note(source: str | None) -> None:
    """Above the charts: that they show the default settings, as nobody has computed the student's yet."""
    if source is None:
        st.info(t("experiments.showing_defaults"), icon=":material/info:")


def source_note(source: str | None, name: str) -> None:
    """Below the charts (the section's picture comes first): where their numbers come from, and what of them is
    reproducible."""
    if source == "shipped":
        m = shipped_machine(name)
        config = shipped(name).config
        seeds = getattr(config, "seeds", None) or (getattr(config, "seed", 0),)
        st.caption(
            t(
                "experiments.from_shipped",
                torch=m.get("torch", "?"),
                cpu=m.get("cpu", "?"),
                kernels=m.get("cpu_capability", "?"),
                threads=m.get("threads", "?"),
                seeds=f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else str(seeds[0]),
            )
        )
    elif source == "computed":
        st.caption(t("experiments.from_computed"))


# --- run it yourself ---------------------------------------------------------------------------
def run_panel(name: str, config, available: bool) -> None:
    """The Run button for ``config`` (disabled when its result is already there), or, while this
    session's experiment runs, its progress and Stop."""
    s = st.session_state
    notice.draw(NOTICE)
    if s.get(ACTIVE):
        st.fragment(progress, run_every=POLL_SECONDS)()
        return
    problems = config.problems()
    st.button(
        t("experiments.run"),
        type="primary",
        icon=":material/play_arrow:",
        key=f"exp.run_{name}",
        on_click=start,
        args=(name, config),
        disabled=available or bool(problems),
        help=t("experiments.run_help"),
        width="stretch",
    )
    if problems:
        st.error(t("experiments.bad_settings", which=", ".join(problems)), icon=":material/block:")


def start(name: str, config) -> None:
    """Queue the experiment as this page session's run (it lives as long as the session; past the
    server's queue or the session's limit the page says why and starts nothing)."""
    try:
        [run_id] = runs.request([jobs.Job(name, config)])
    except LimitReached as err:
        notice.post(NOTICE, "warning", runs.limit_text(err))
        return
    st.session_state[ACTIVE] = {"name": name, "run_id": run_id}


def stop() -> None:
    active = st.session_state.pop(ACTIVE, None)
    if active:  # the computation stops unless another page waits for the same experiment
        runs.release([active["run_id"]])
        notice.post(NOTICE, "info", t("experiments.stopped"))
        st.session_state[WHOLE_PAGE] = True  # the button is in the polled fragment: say so, stop polling


def progress() -> None:
    """Polled while this session's experiment runs; stores its result when it finishes."""
    s = st.session_state
    if s.pop(WHOLE_PAGE, False):
        notice.rerun_page()
    active = s.get(ACTIVE)
    if not active:
        return
    [view] = runs.views([active["run_id"]])
    if view is None or not view.active:
        s.pop(ACTIVE, None)
        if view is None:
            notice.post(NOTICE, "warning", t("experiments.lost"))
        elif view.error in ("stopped", "stopped_in_queue"):
            notice.post(NOTICE, "info", t("experiments.stopped"))
        elif view.state != "finished":
            notice.post(NOTICE, "error", runs.failure_text(view) if view.error == "cap" else t("experiments.crashed"))
        notice.rerun_page()  # ACTIVE is gone: the next run of the page polls no more; the result is stored
    if view.state == "queued":
        st.info(runs.queue_text(view), icon=":material/hourglass:")
    share = view.done / view.total if view.total else 0.0
    name = t(f"experiments.sec_{active['name']}")
    st.progress(min(share, 1.0), text=t("experiments.running", name=name, pct=pct(share, 0)))
    st.button(t("train.stop"), on_click=stop, icon=":material/stop_circle:", key="exp.stop", width="stretch")


def rate(value: float | None) -> str:
    """A learning rate, or "none of them" when no rate of the set trained."""
    return t("experiments.no_rate") if value is None else num(value, "g")


# --- the spread over seeds -------------------------------------------------------------------------
def mean_and_range(values) -> str:
    """ "4.1 % (seeds: 3.1–5.6 %)": the mean over the seeds and their range."""
    values = np.asarray(values, np.float64)
    return t("experiments.mean_range", mean=pct(values.mean()), low=pct(values.min()), high=pct(values.max()))


def seeds_help(values) -> str:
    values = np.asarray(values, np.float64)
    return t("experiments.seeds_metric", n=len(values), low=pct(values.min()), high=pct(values.max()))


def compare(a, b) -> str:
    """Whether a is lower than b in every seed, higher in every seed, or neither: then the difference is
    within the noise between seeds (a[i], b[i]: the same seed, so the same initial weights and batches)."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if (diff < 0).all():
        return t("experiments.lower_every_seed", n=len(diff))
    if (diff > 0).all():
        return t("experiments.higher_every_seed", n=len(diff))
    return t("experiments.within_noise", n=len(diff))


def script_of(section: str, config) -> None:
    """The code for this: the experiment whose result is drawn, as a script (lessons/experiments/code.py)."""
    code_for_this(code.script(section, config), f"experiments_{section}.py", key=f"exp.{section}_code")
