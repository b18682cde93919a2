"""The sections of the `train` lesson. Training happens in bn_core (a worker process
per run, see bn_core.runner); this module lays out its controls and results."""

from __future__ import annotations

import atexit
import io
import pickle

import numpy as np
import streamlit as st
import torch

from bn_core import data as digit_data
from bn_core import train as tr
from bn_core.batchnorm import single_value_message
from bn_core.download import MnistDownload
from bn_core.download import allowed as download_allowed
from bn_core.runner import SPEEDS, LimitReached, Runner, RunView
from lessons.train import figures
from lessons.train.kept import Kept, Record
from ui import charts, notice
from ui import session as page_session
from ui.i18n import current_lang, num, pct, seconds, t
from ui.state import Param, current

PRESETS = (*tr.PRESETS, "custom")
MAX_GROUPS = 3  # finished pairs kept for comparison
LR_OPTIONS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0)
BATCH_OPTIONS = (1, 2, 4, 8, 16, 32, 60, 64, 128, 256, 512)
HIDDEN_OPTIONS = (*range(16, 97, 16), 100, *range(112, 513, 16))
SPEED_NAMES = tuple("max" if s is None else str(s) for s in SPEEDS)
PACE = Param("speed", "train.speed", "100", kind="choice", choices=SPEED_NAMES)
DEFAULT = tr.TrainConfig()
PARAMS = (
    Param("preset", "train.preset", "figure1", kind="choice", choices=PRESETS),
    PACE,
    Param("data", "train.dataset", DEFAULT.dataset, kind="choice", choices=digit_data.DATASETS),
    Param("norm", "train.norm", DEFAULT.norm, kind="choice", choices=tr.NORMS),
    Param("place", "train.placement", DEFAULT.placement, kind="choice", choices=tr.PLACEMENTS),
    Param("act", "train.activation", DEFAULT.activation, kind="choice", choices=tr.ACTIVATIONS),
    Param("depth", "train.depth", DEFAULT.depth, kind="int", lo=1, hi=3),
    Param("hidden", "train.hidden", DEFAULT.hidden, kind="int", lo=16, hi=512, options=HIDDEN_OPTIONS),
    Param("hidden2", "train.hidden2", DEFAULT.hidden2, kind="int", lo=0, hi=512, options=(0, *HIDDEN_OPTIONS)),
    Param("dropout", "train.dropout", DEFAULT.dropout, lo=0.0, hi=tr.DROPOUT_MAX),
    Param("opt", "train.optimizer", DEFAULT.optimizer, kind="choice", choices=tr.OPTIMIZERS),
    Param("lr", "train.lr", DEFAULT.lr, lo=LR_OPTIONS[0], hi=LR_OPTIONS[-1], options=LR_OPTIONS),
    Param("bs", "train.batch_size", DEFAULT.batch_size, kind="int", lo=1, hi=512, options=BATCH_OPTIONS),
    Param("epochs", "train.epochs", DEFAULT.epochs, kind="int", lo=1, hi=tr.EPOCH_RANGE[1]),
    Param("seed", "train.seed", DEFAULT.seed, kind="int", lo=0, hi=2**31 - 1),
)
ACTIVE = "train.active"  # this session's runs (ids) while they are queued or training: a pair, or one run
PAUSED = "train.paused"  # whether the active runs are paused
POLLED = "train.polled"  # the run state the page's polling interval was chosen for
# How often the live part asks the runner: 2.5 times a second while a run trains (the curves
# redraw at least twice a second), every 2 s while it waits in the queue (its place changes rarely).
POLL_SECONDS = {"running": 0.4, "queued": 2.0}
GROUPS = "train.groups"  # this session's finished groups, oldest first: {"name": str, "runs": [RunView]}
COUNTER = "train.counter"  # groups started in this session (their numbers)
NOTICE = "train.notice"  # a ui.notice: download result, start refused, run lost
CHOSEN = "train.chosen"  # the finished group shown
DOWNLOAD_SEEN = "train.download_seen"  # the MNIST download attempt this session saw running
DOWNLOAD_POLL = 1.0  # seconds between looks at a running MNIST download
KEPT_FOR = "train.kept_for"  # the tab id this session's groups are kept under (lessons/train/kept.py)
KEPT_AS = "train.kept_as"  # what was last kept for it (to write only what changed)


@st.cache_resource
def runner() -> Runner:
    """One runner for the whole server: the limit on concurrent runs is server-wide. A run lives
    as long as the session that started it, dropped connections included (ui.session). It ends its
    workers at exit, before multiprocessing's own exit handler (which found process objects the
    runner was closing at the same moment, and logged a traceback)."""
    shared = Runner(owner_alive=page_session.session_alive, owner_timeout=page_session.session_grace())
    atexit.register(shared.shutdown, timeout=5.0)
    return shared


@st.cache_resource
def kept() -> Kept:
    """One store for the server: each browser tab's finished and active runs, across reloads."""
    return Kept(size_of=lambda record: len(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)))


@st.cache_resource(max_entries=4)
def load_dataset(name: str, directory: str) -> digit_data.Dataset:
    """The page's read-only copy of a data set (results and predictions)."""
    return digit_data.load(name, directory)


def config_from_state() -> tr.TrainConfig:
    s = st.session_state
    return tr.TrainConfig(
        dataset=s["train.dataset"],
        norm=s["train.norm"],
        placement=s["train.placement"],
        activation=s["train.activation"],
        depth=int(s["train.depth"]),
        hidden=int(s["train.hidden"]),
        hidden2=int(s["train.hidden2"]),
        dropout=float(s["train.dropout"]),
        optimizer=s["train.optimizer"],
        lr=float(s["train.lr"]),
        batch_size=int(s["train.batch_size"]),
        epochs=int(s["train.epochs"]),
        seed=int(s["train.seed"]),
    )


def chosen_config() -> tr.TrainConfig:
    preset = st.session_state["train.preset"]
    return tr.PRESETS[preset] if preset in tr.PRESETS else config_from_state()


def pair(config: tr.TrainConfig) -> list[tr.TrainConfig]:
    """What one press trains: the configuration and its twin without normalization (or the one run)."""
    return [config] if config.norm == "none" else [config, config.twin()]


def speed() -> float | None:
    return steps_per_second(current(PACE))  # (Play's callback reads it before restore)


def steps_per_second(name: str) -> float | None:
    """A pace control's value as steps a second (None: as fast as it goes)."""
    return None if name == "max" else float(name)


def norm_name(norm: str) -> str:
    return t(f"train.norm_{norm}")


def plural(n: int, key: str) -> str:
    """``key``'s three forms ("1|2-4|5+", as Russian needs; the others repeat one) for ``n``."""
    forms = t(key, n=n).split("|")
    tens, ones = n % 100, n % 10
    index = 0 if ones == 1 and tens != 11 else 1 if 2 <= ones <= 4 and not 12 <= tens <= 14 else 2
    return forms[index]


def describe(config: tr.TrainConfig) -> str:
    """A configuration in a few words: the network, its training."""
    sep = t("train.sep")
    parts = [
        norm_name(config.norm),
        t("train.depth_text", depth=config.depth, units=plural(config.hidden, "train.units")),
        t(f"train.act_{config.activation}"),
        t("train.field", name=t("train.field_lr"), value=num(config.lr, "g")),
        t("train.field", name=t("train.field_batch_size"), value=config.batch_size),
        t("train.field", name=t("train.field_epochs"), value=config.epochs),
    ]
    return sep.join(parts)


# --- controls ---------------------------------------------------------------
def preset_picker() -> None:
    st.selectbox(t("train.preset"), PRESETS, format_func=lambda p: t(f"train.preset_{p}"), key="train.preset")


def pace_controls(disabled: bool) -> None:
    """Play / Pause, Step, Reset and the speed, in one row."""
    s = st.session_state
    active, paused = bool(s.get(ACTIVE)), s.get(PAUSED, False)
    playing = active and not paused
    cols = st.columns([1.25, 1, 1, 2.6], vertical_alignment="bottom")
    if playing:
        cols[0].button(t("train.pause"), on_click=pause, icon=":material/pause:", key="train.pause", width="stretch")
    else:
        cols[0].button(
            t("train.play"),
            type="primary",
            on_click=play,
            icon=":material/play_arrow:",
            key="train.start",
            width="stretch",
            disabled=disabled,
            help=t("train.start_help", n=MAX_GROUPS),
        )
    cols[1].button(
        t("train.step"),
        on_click=step_once,
        icon=":material/skip_next:",
        key="train.step",
        width="stretch",
        disabled=disabled,
        help=t("train.step_help"),
    )
    cols[2].button(
        t("train.reset"),
        on_click=reset,
        icon=":material/restart_alt:",
        key="train.reset",
        width="stretch",
        disabled=not active,
        help=t("train.reset_help"),
    )
    cols[3].segmented_control(
        t("train.speed"),
        SPEED_NAMES,
        format_func=lambda v: t("train.speed_max") if v == "max" else v,
        key="train.speed",
        required=True,
        on_change=apply_speed,
        width="stretch",
    )


def controls() -> None:
    """The free settings (the "custom" preset)."""
    st.selectbox(
        t("train.dataset"), digit_data.DATASETS, format_func=lambda d: t(f"train.data_{d}"), key="train.dataset"
    )
    st.selectbox(t("train.norm"), tr.NORMS, format_func=norm_name, key="train.norm")
    st.radio(
        t("train.placement"),
        tr.PLACEMENTS,
        format_func=lambda p: t(f"train.place_{p}"),
        key="train.placement",
        horizontal=True,
        disabled=st.session_state["train.norm"] == "none",
    )
    st.radio(
        t("train.activation"),
        tr.ACTIVATIONS,
        format_func=lambda a: t(f"train.act_{a}"),
        key="train.activation",
        horizontal=True,
    )
    st.slider(t("train.depth"), 1, 3, key="train.depth")
    st.select_slider(t("train.hidden"), HIDDEN_OPTIONS, key="train.hidden")
    st.select_slider(
        t("train.hidden2"),
        (0, *HIDDEN_OPTIONS),
        format_func=lambda v: str(v) if v else t("train.off"),
        key="train.hidden2",
    )
    st.slider(t("train.dropout"), 0.0, tr.DROPOUT_MAX, step=0.05, key="train.dropout", help=t("train.dropout_help"))
    st.radio(
        t("train.optimizer"),
        tr.OPTIMIZERS,
        format_func=lambda o: t(f"train.opt_{o}"),
        key="train.optimizer",
        horizontal=True,
    )
    st.select_slider(t("train.lr"), LR_OPTIONS, format_func=lambda v: num(v, "g"), key="train.lr")
    st.select_slider(t("train.batch_size"), BATCH_OPTIONS, key="train.batch_size")
    st.slider(t("train.epochs"), 1, tr.EPOCH_RANGE[1], key="train.epochs")
    st.number_input(t("train.seed"), 0, 2**31 - 1, step=1, key="train.seed")


def mnist_ready() -> bool:
    directory = digit_data.mnist_dir()
    return all(digit_data.find_mnist_file(directory, name) for name, _ in digit_data.MNIST_FILES.values())


def use_digits() -> None:
    st.session_state["train.dataset"] = "digits"


@st.cache_resource
def downloader() -> MnistDownload:
    """One MNIST download for the whole server, in a thread of its own (see bn_core.download)."""
    return MnistDownload()


def download() -> None:
    """Start the server's download, or join the one under way; this session then hears how it ends
    (also when it fails at once, before the page could see it running)."""
    job = downloader()
    job.start()
    st.session_state[DOWNLOAD_SEEN] = job.progress().attempt


def mnist_missing() -> None:
    """Where MNIST comes from, without the server's paths: students read this."""
    offered = download_allowed()
    st.warning(t("train.mnist_missing" if offered else "train.mnist_missing_no_download"), icon=":material/folder_off:")
    running = downloader().progress().state == "running"
    st.fragment(download_status, run_every=DOWNLOAD_POLL if running else None)(polling=running)
    if offered:  # one above the other: side by side in the settings column, the labels were cut off
        st.button(
            t("train.mnist_download"), on_click=download, icon=":material/download:", width="stretch", disabled=running
        )
    st.button(t("train.use_digits"), on_click=use_digits, width="stretch")


def download_status(polling: bool) -> None:
    """The download's progress, polled while it runs. When it ends, the whole page runs once more
    (it stops polling, and finds MNIST if it came); a failure this session asked about stays
    beside the button."""
    s, progress = st.session_state, downloader().progress()
    if progress.state == "running":
        s[DOWNLOAD_SEEN] = progress.attempt
        done_mb, total_mb = progress.received / 1e6, max(progress.total, 1) / 1e6
        text = t("train.mnist_downloading", done=num(done_mb, ".1f"), total=num(total_mb, ".1f"))
        st.progress(min(progress.received / max(progress.total, 1), 1.0), text=text)
        return
    ours = s.get(DOWNLOAD_SEEN) == progress.attempt
    if polling:  # registered with run_every while it ran; the page's next run registers it without
        if ours and progress.state == "done":
            notice.post(NOTICE, "success", t("train.mnist_downloaded"))
        notice.rerun_page()
    if ours and progress.state == "failed":
        st.error(t(f"train.data_{progress.error}", detail=progress.detail), icon=":material/error:")


def problems_message(problems: list[str], hidden: int) -> None:
    if "batch_of_one" in problems:
        st.error(t("train.batch_of_one"), icon=":material/block:")
        st.code(f"ValueError: {single_value_message((1, hidden))}", language=None)
        st.markdown(t("train.batch_of_one_ways"))
    others = [p for p in problems if p != "batch_of_one"]
    if others:  # only reachable by hand-edited state; the widgets keep values in range
        st.error(t("train.bad_settings", which=", ".join(others)), icon=":material/block:")


# --- pace ---------------------------------------------------------------------
def start(paused: bool, steps: int = 0) -> None:
    s = st.session_state
    config = chosen_config()
    directory = str(digit_data.mnist_dir()) if config.dataset == "mnist" else None
    try:
        s[ACTIVE] = runner().submit_many(
            pair(config), directory, speed=speed(), paused=paused, steps=steps, owner=page_session.session_id()
        )
    except LimitReached as err:
        notice.post(NOTICE, "warning", limit_text(err))
        return
    s[COUNTER] = s.get(COUNTER, 0) + 1
    s[PAUSED] = paused
    s["train.group_name"] = group_name(s[COUNTER], s["train.preset"], config)


def limit_text(err: LimitReached) -> str:
    if err.reason == "session":
        return t("train.limit_session", n=err.limit)
    return t("train.limit_queue", n=err.limit, limit=runner().max_concurrent)


def group_name(number: int, preset: str, config: tr.TrainConfig) -> str:
    what = t(f"train.preset_{preset}") if preset in tr.PRESETS else describe(config)
    return f"#{number} {what}"


def set_pace(paused: bool) -> None:
    s = st.session_state
    s[PAUSED] = paused
    for run_id in s.get(ACTIVE, []):
        runner().pace(run_id, speed(), paused)


def play() -> None:
    if st.session_state.get(ACTIVE):
        set_pace(paused=False)
    else:
        start(paused=False)


def pause() -> None:
    set_pace(paused=True)


def step_once() -> None:
    s = st.session_state
    if not s.get(ACTIVE):
        start(paused=True, steps=1)
        return
    if not s.get(PAUSED):
        set_pace(paused=True)
    for run_id in s[ACTIVE]:
        runner().step(run_id)


def apply_speed() -> None:
    if st.session_state.get(ACTIVE):
        set_pace(st.session_state.get(PAUSED, False))


def reset() -> None:
    """Stop and forget the active runs: back to step 0."""
    s = st.session_state
    for run_id in s.pop(ACTIVE, []):
        runner().forget(run_id)
    s.pop(PAUSED, None)


def stop() -> None:
    for run_id in st.session_state.get(ACTIVE, []):
        runner().stop(run_id)


def keep(name: str, views: list[RunView]) -> None:
    s = st.session_state
    groups = s.setdefault(GROUPS, [])
    groups.append({"name": name, "runs": views})
    del groups[:-MAX_GROUPS]
    s.pop(CHOSEN, None)  # the newest group is shown when it finishes


def remove_group(index: int) -> None:
    groups = st.session_state.get(GROUPS, [])
    if 0 <= index < len(groups):
        groups.pop(index)
    st.session_state.pop(CHOSEN, None)


# --- live -------------------------------------------------------------------
def poll_seconds() -> float | None:
    """The live part's polling interval for this session's runs; None when there are none."""
    s = st.session_state
    views = [runner().view(r) for r in s.get(ACTIVE, [])]
    s[POLLED] = poll_state([v for v in views if v is not None])
    return POLL_SECONDS.get(s[POLLED])


def live() -> None:
    """Counter, progress and the step charts; the page runs this as a fragment every poll_seconds()
    while runs are active."""
    s = st.session_state
    ids = s.get(ACTIVE, [])
    views = [runner().view(r) for r in ids]
    if ids and any(v is None for v in views):  # the runner forgot them: this session was gone for too long
        reset()
        notice.post(NOTICE, "warning", t("train.lost"))
        notice.rerun_page()
    if views and not any(v.active for v in views):
        s.pop(ACTIVE, None)
        s.pop(PAUSED, None)
        done = [v for v in views if v.state == "finished"]
        failed = [v for v in views if v.state != "finished"]
        if failed:  # a pair's twin taken out of the queue by Stop is no error
            notice.post(NOTICE, *failure_notice(failed[0]))
        if done:
            keep(s.get("train.group_name", ""), done)
        for v in views:
            runner().forget(v.run_id)
        notice.rerun_page()  # the whole page: results, and no more polling
    if views and poll_state(views) != s.get(POLLED):
        notice.rerun_page()  # queued -> running (or back): the whole page, to poll at the new pace
    if views:
        progress(views)
        charts_of(views)
        return
    groups = s.get(GROUPS, [])
    if groups:
        chosen = min(s.get(CHOSEN, len(groups) - 1), len(groups) - 1)
        charts_of(groups[chosen]["runs"])
    else:
        st.info(t("train.empty"), icon=":material/play_circle:")


def poll_state(views: list[RunView]) -> str | None:
    states = {v.state for v in views}
    return "running" if "running" in states else "queued" if "queued" in states else None


def failure_notice(view: RunView) -> tuple[notice.Level, str]:
    """(level, text) for a run that ended without results: information when Stop ended it, else an error."""
    return ("info" if view.error in ("stopped_in_queue", "stopped") else "error"), failure_text(view)


def failure_text(view: RunView) -> str:
    if view.error in ("missing", "bad_file", "offline", "checksum", "unknown"):
        return t(f"train.data_{view.error}", detail=view.detail)
    if view.error == "stopped_in_queue":
        return t("train.stopped_in_queue")
    if view.error == "stopped":  # terminated after the stop's grace, before its last word
        return t("train.stopped_unsaved")
    return t("train.crashed")


def progress(views: list[RunView]) -> None:
    """The step and epoch counter, a progress bar, and the time left at this pace."""
    queued = [v for v in views if v.state == "queued"]
    if queued:
        text = t("train.queued", place=queued[0].place, limit=runner().max_concurrent)
        waits = [v.wait_seconds for v in queued]  # the later of a pair starts last
        wait = t("train.queue_wait", wait=seconds(max(waits))) if None not in waits else t("train.queue_wait_unknown")
        st.info(("" if current_lang() == "zh" else " ").join((text, wait)), icon=":material/hourglass:")
    view = min(views, key=lambda v: v.done)  # the slower of a pair
    total = view.total
    per_epoch = total // view.config.epochs if total else 0
    epoch = min(view.done // per_epoch + 1, view.config.epochs) if per_epoch else 1
    lefts = [v.seconds_left for v in views if v.seconds_left is not None]
    if view.paused:
        left = t("train.paused")
    elif lefts and len(lefts) == len(views):
        left = t("train.left", left=seconds(max(lefts)))
    else:
        left = "…"
    text = t("train.counter", step=num(view.done, ",d"), steps=num(total, ",d"), epoch=epoch, epochs=view.config.epochs)
    left_col, right_col = st.columns([3, 1], vertical_alignment="bottom")  # room for «Остановить»
    left_col.progress(min(view.done / total, 1.0) if total else 0.0, text=f"{text} · {left}")
    right_col.button(t("train.stop"), on_click=stop, icon=":material/stop_circle:", key="train.stop", width="stretch")


def run_series(views: list[RunView]) -> list[tuple[str, str, list]]:
    """(name, norm, measures) of each run, from its live measures or its history."""
    out = []
    for v in views:
        measures = v.history.measures if v.history is not None else v.measures
        out.append((norm_name(v.config.norm), v.config.norm, measures))
    return out


def charts_of(views: list[RunView]) -> None:
    """Test accuracy and the probed unit's input to its nonlinearity, over training steps."""
    series = [s for s in run_series(views) if s[2]]
    if not series:
        return
    drawn = (current_lang(), tuple((v.run_id, len(m)) for v, (_, _, m) in zip(views, run_series(views), strict=True)))
    kept = st.session_state.get("train.curves")
    if kept is None or kept[0] != drawn:
        kept = st.session_state["train.curves"] = (drawn, step_figures(series, views[0].config))
    left, right = st.columns(2)
    left.plotly_chart(kept[1][0], key="train.curve_accuracy")
    right.plotly_chart(kept[1][1], key="train.curve_probe")


def step_figures(series: list[tuple[str, str, list]], config: tr.TrainConfig) -> tuple:
    accuracy = [
        figures.Series(name, norm, np.array([m.step for m in ms]), np.array([m.test_accuracy for m in ms]))
        for name, norm, ms in series
    ]
    layer = len(config.widths)
    probe = [
        figures.Series(name, norm, np.array([m.step for m in ms]), np.array([m.quantiles[-1, 1, 0] for m in ms]))
        for name, norm, ms in series
    ]
    return (
        figures.step_curves(
            accuracy,
            title=t("train.test_curve"),
            x_title=t("train.step_axis"),
            y_title=t("train.accuracy"),
            percent=True,
        ),
        figures.bands(
            probe,
            title=t("train.probe_title", layer=layer),
            x_title=t("train.step_axis"),
            y_title=t("train.probe_axis"),
        ),
    )


# --- results ------------------------------------------------------------------
def run_summary(view: RunView) -> None:
    h = view.history
    last = h.epochs[-1] if h.epochs else None
    st.markdown(f"**{norm_name(h.config.norm)}**")
    cols = st.columns(3)
    cols[0].metric(t("train.test_accuracy"), "—" if h.test_accuracy is None else pct(h.test_accuracy))
    reached = tr.steps_to(h, 0.9)
    cols[1].metric(
        t("train.steps_to_90"), "—" if reached is None else num(reached, ",d"), help=t("train.steps_to_90_help")
    )
    cols[2].metric(t("train.seconds"), seconds(h.seconds))
    if h.stopped == "diverged":
        st.error(
            t("train.diverged", epoch=h.diverged_at, loss=num(h.diverged_loss, ".3g")), icon=":material/trending_up:"
        )
    elif h.stopped == "user":
        st.info(t("train.stopped"), icon=":material/stop_circle:")
    elif last is not None and last.val_accuracy < 0.2:
        st.warning(t("train.not_learning"), icon=":material/warning:")


def results(view: RunView, dataset: digit_data.Dataset | None) -> None:
    h = view.history
    if h.test_predictions is None or dataset is None:
        st.info(t("train.no_results"), icon=":material/info:")
        return
    left, right = st.columns([1, 1.2], gap="large")
    counts = tr.confusion_matrix(dataset.y_test, h.test_predictions)
    left.plotly_chart(
        charts.heatmap_figure(
            counts, title=t("train.confusion"), x_title=t("train.predicted"), y_title=t("train.true")
        ),
        key="train.confusion",
    )
    wrong = np.flatnonzero(h.test_predictions != dataset.y_test)
    with right:
        st.markdown(f"**{t('train.misclassified', n=len(wrong), total=len(dataset.y_test))}**")
        shown = wrong[:30]
        if len(shown):
            st.image(
                [pixels(dataset.x_test[i], dataset.image_shape) for i in shown],
                caption=[t("train.caption", true=dataset.y_test[i], pred=h.test_predictions[i]) for i in shown],
                width=72,
            )
    st.download_button(
        t("train.download_csv"),
        tr.history_csv(h),
        file_name="bn_lab_history.csv",
        mime="text/csv",
        icon=":material/table:",
        key="train.csv",
    )
    st.download_button(
        t("train.download_weights"),
        state_dict_bytes(h.model),
        file_name="bn_lab_digitnn.pt",
        mime="application/octet-stream",
        icon=":material/download:",
        key="train.weights",
        help=t("train.weights_help"),
    )


def pixels(flat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A flat image, enlarged with sharp pixels (8x8 digits would be blurred by the browser)."""
    image = (np.clip(digit_data.unit(flat).reshape(shape), 0.0, 1.0) * 255).astype(np.uint8)
    scale = max(1, 64 // shape[0])
    return np.kron(image, np.ones((scale, scale), np.uint8))


def state_dict_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def predict(view: RunView, dataset: digit_data.Dataset | None) -> None:
    if dataset is None or view.history.model is None:
        st.info(t("train.no_results"), icon=":material/info:")
        return
    n = len(dataset.y_test)
    index = st.number_input(t("train.pick"), 0, n - 1, value=0, step=1, key="train.pick")
    probs = tr.probabilities(view.history.model, dataset.x_test[index : index + 1])[0]
    left, right = st.columns([1, 3])
    left.image(pixels(dataset.x_test[index], dataset.image_shape), width=160)
    left.markdown(t("train.pick_truth", true=dataset.y_test[index], pred=int(np.argmax(probs))))
    right.plotly_chart(
        charts.bars_figure([str(i) for i in range(10)], probs, title=t("train.probs"), highlight=int(np.argmax(probs))),
        key="train.probs",
    )
    st.caption(t("train.pick_note"))


# --- kept across reloads ------------------------------------------------------------
def restore_kept(tab: str | None) -> None:
    """Once per session, when the tab's id is known: take back what the tab kept before a reload
    (finished groups, and runs still training, whose old session is gone or disconnected)."""
    s = st.session_state
    if tab is None or s.get(KEPT_FOR) == tab:
        return
    s[KEPT_FOR] = tab
    record = kept().get(tab)
    if record is None or s.get(GROUPS) or s.get(ACTIVE):  # this session's own are newer
        return
    s[GROUPS] = list(record.groups)
    s[COUNTER] = max(s.get(COUNTER, 0), record.counter)
    me = page_session.session_id()
    adopted = [r for r in record.active if me is not None and runner().adopt(r, me)]  # each one it can
    if adopted:
        s[ACTIVE], s[PAUSED], s["train.group_name"] = adopted, record.paused, record.group_name


def save_kept() -> None:
    """Keep this session's groups and active runs under its tab's id (when they changed)."""
    s = st.session_state
    tab = s.get(KEPT_FOR)
    if tab is None:
        return
    groups = s.get(GROUPS, [])
    record = Record(
        s.get(COUNTER, 0), tuple(groups), tuple(s.get(ACTIVE, [])), s.get(PAUSED, False), s.get("train.group_name", "")
    )
    signature = (record.counter, tuple(id(g) for g in groups), record.active, record.paused)
    if s.get(KEPT_AS) != signature:
        kept().put(tab, record)
        s[KEPT_AS] = signature
