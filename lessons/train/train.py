"""Lesson `train`: a digit classifier trained with BatchNorm and without it, side by side: computed
once on the server by PyTorch, played back in the browser at a pace people can follow."""

import streamlit as st

from bn_core.data import DataUnavailable, mnist_dir
from lessons.train import inside as inside_tab
from lessons.train import kept, mnist, playback, results, settings, state
from ui import notice, runs, train_script
from ui import session as page_session
from ui.code import code_for_this
from ui.frame import freeze_imports, guarded, header, lead
from ui.i18n import num, t
from ui.quiz import check_yourself
from ui.share import share_bar
from ui.state import mirror, restore, show_notices

freeze_imports("torch")  # this page brought torch into the server process
# On a phone: the inside tab's step picker keeps its row and its chart takes the next; the settings go below the
# charts (the frame makes the controls' column stick to the top, ui/frame.py)
PHONE_CSS = """<style>
@media (max-width: 640px) {
  .stHorizontalBlock:has(> .stColumn > .stVerticalBlock > .st-key-train-step) > .stColumn { min-width: 0; }
  .stHorizontalBlock:has(> .stColumn > .stVerticalBlock > .st-key-train-step) > .stColumn:last-child {
    min-width: 100%;
  }
  .stColumn:has(.st-key-train_panel):not(:has(.stColumn .st-key-train_panel)) { order: 1; }
}
</style>"""


def body() -> None:
    header("train", PHONE_CSS)
    runs.runner()  # the first visit starts the workers' forkserver (seconds of imports) while the student reads
    show_notices(restore(state.PARAMS))
    kept.restore_kept(page_session.tab_id())  # after a reload: the tab's finished (and training) runs
    share_bar("train", state.PARAMS, state.PRESETS)
    lead("train")
    s = st.session_state
    notice.draw(state.NOTICE)

    config = settings.chosen_config()
    problems = config.problems()
    missing = config.dataset == "mnist" and not mnist.mnist_ready()
    top_left, top_right = st.columns([1, 2.6], gap="large", vertical_alignment="bottom")
    with top_left:
        settings.preset_picker()
    with top_right:
        playback.pace_controls(disabled=bool(problems) or missing)
    panel, main = st.columns([1, 2.6], gap="large")
    with panel.container(key="train_panel"):  # on a phone it goes below the charts (ui/frame.py)
        preset = s["train.preset"]
        if preset == "custom":
            with st.container(height=560, border=False):  # the settings scroll; the charts stay in view
                settings.controls()
        else:
            st.markdown(t(f"train.about_{preset}"))
            st.caption(settings.describe(config))
        settings.problems_message(problems, config.hidden)
        if missing:
            mnist.mnist_missing()
    with main:
        st.fragment(live, run_every=playback.poll_seconds())()
    if not problems:  # full width: a script's lines need it
        preset = s["train.preset"]
        title = f"{t('train.title')} · {t(f'train.preset_{preset}')}"
        code_for_this(train_script.script(config, title), f"train_{preset}.py", key="train.code")
    finished(s.get(state.GROUPS, []))
    with st.expander(t("train.why_title")):
        st.markdown(t("train.why"))
    check_yourself("train", state.QUESTIONS)
    mirror(state.PARAMS)
    kept.save_kept()
    page_session.mount_tab_id()


def live() -> None:
    """Polled once a second while a computation goes on: its progress and the player, not the whole page."""
    guarded(playback.live, "train.live")


def finished(groups: list) -> None:
    if not groups:
        return
    st.divider()
    chosen = st.radio(
        t("train.which_run"),
        range(len(groups)),
        format_func=lambda i: groups[i]["name"],
        index=len(groups) - 1,
        key=state.CHOSEN,
        horizontal=True,
    )
    chosen = min(chosen, len(groups) - 1)
    views = groups[chosen]["runs"]
    steps = max(v.history.measures[-1].step if v.history.measures else 0 for v in views)
    st.caption(t("train.summary_after", step=num(steps, ",d"), steps=num(max(v.total for v in views), ",d")))
    for column, view in zip(st.columns(len(views)), views, strict=True):
        with column:
            results.run_summary(view)
    try:
        dataset = runs.load_dataset(views[0].config.dataset, str(mnist_dir()))
    except DataUnavailable:
        dataset = None
    # Only the open tab runs (a tab change reruns the page): each page run after a run ends,
    # in every session of a class, then builds one tab's charts instead of three.
    inside_part, results_part, predict_part = st.tabs(
        [t("train.tab_inside"), t("train.tab_results"), t("train.tab_predict")], key="train.tab", on_change="rerun"
    )
    if inside_part.open:
        with inside_part:
            inside_tab.inside(views)
    if results_part.open:
        with results_part:
            results.results(pick_model(views, "train.model"), dataset)
    if predict_part.open:
        with predict_part:
            results.predict(pick_model(views, "train.model_predict"), dataset)
    st.button(
        t("train.remove"), on_click=playback.remove_group, args=(chosen,), icon=":material/delete:", key="train.remove"
    )


def pick_model(views: list, key: str):
    """One model of the pair (its results, its predictions)."""
    pick = st.radio(
        t("train.which_model"),
        range(len(views)),
        format_func=lambda i: settings.norm_name(views[i].config.norm),
        horizontal=True,
        key=key,
    )
    return views[min(pick, len(views) - 1)]


guarded(body, "train")
