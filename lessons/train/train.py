"""Lesson `train`: a digit classifier trained live, with and without BatchNorm."""

import streamlit as st

from bn_core.data import DataUnavailable, mnist_dir
from lessons.train import sections as parts
from ui.frame import freeze_imports, guarded, header
from ui.i18n import t
from ui.state import mirror, restore, show_notices

freeze_imports("torch")  # this page brought torch into the server process


def body() -> None:
    header("train")
    show_notices(restore(parts.PARAMS))
    s = st.session_state
    busy = parts.ACTIVE in s
    notice = s.pop(parts.NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])

    panel, main = st.columns([1, 2.6], gap="large")
    with panel:
        parts.controls()
        config = parts.config_from_state()
        problems = config.problems()
        parts.problems_message(problems, config.hidden)
        missing = config.dataset == "mnist" and not parts.mnist_ready()
        if missing:
            parts.mnist_missing()
        st.button(
            t("train.start"),
            type="primary",
            icon=":material/play_arrow:",
            on_click=parts.start,
            args=(config,),
            disabled=busy or bool(problems) or missing,
            width="stretch",
            key="train.start",
            help=t("train.start_help", n=parts.MAX_RUNS),
        )
    with main:
        st.fragment(live, run_every=parts.poll_seconds())()
        finished(s.get(parts.RUNS, []))
    with st.expander(t("train.why_title")):
        st.markdown(t("train.why"))
    mirror(parts.PARAMS)


def live() -> None:
    """Polled while a run is active: progress and curves only, not the whole page."""
    guarded(parts.live, "train.live")


def finished(runs: list) -> None:
    if not runs:
        return
    names = parts.labels([v.config for v in runs])
    chosen = st.radio(
        t("train.which_run"), range(len(runs)), format_func=names.__getitem__, index=len(runs) - 1, key="train.chosen"
    )
    chosen = min(chosen, len(runs) - 1)
    view = runs[chosen]
    parts.run_summary(view, names[chosen])
    try:
        dataset = parts.load_dataset(view.config.dataset, str(mnist_dir()))
    except DataUnavailable:
        dataset = None
    # Only the open tab runs (a tab change reruns the page): each page run after a run ends,
    # in every session of a class, then builds one tab's charts instead of three.
    results, inside, predict = st.tabs(
        [t("train.tab_results"), t("train.tab_inside"), t("train.tab_predict")], key="train.tab", on_change="rerun"
    )
    if results.open:
        with results:
            parts.results(view, dataset)
    if inside.open:
        with inside:
            parts.inside(view)
    if predict.open:
        with predict:
            parts.predict(view, dataset)
    st.button(
        t("train.remove"), on_click=parts.remove_run, args=(chosen,), icon=":material/delete:", key="train.remove"
    )


guarded(body, "train")
