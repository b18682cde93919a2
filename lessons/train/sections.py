"""The sections of the `train` lesson. Training happens in bn_core (a worker process
per run, see bn_core.runner); this module lays out its controls and results."""

from __future__ import annotations

import atexit
import io
from dataclasses import fields

import numpy as np
import streamlit as st
import torch

from bn_core import data as digit_data
from bn_core import train as tr
from bn_core.batchnorm import single_value_message
from bn_core.histogram import histogram
from bn_core.runner import Runner, RunView
from ui import charts
from ui.i18n import current_lang, t
from ui.state import Param

MAX_RUNS = 4  # finished runs kept for comparison
LR_OPTIONS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_OPTIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
HIDDEN_OPTIONS = tuple(range(16, 513, 16))
DEFAULT = tr.TrainConfig()
PARAMS = (
    Param("data", "train.dataset", DEFAULT.dataset, kind="choice", choices=digit_data.DATASETS),
    Param("norm", "train.norm", DEFAULT.norm, kind="choice", choices=tr.NORMS),
    Param("place", "train.placement", DEFAULT.placement, kind="choice", choices=tr.PLACEMENTS),
    Param("hidden", "train.hidden", DEFAULT.hidden, kind="int", lo=16, hi=512, options=HIDDEN_OPTIONS),
    Param("hidden2", "train.hidden2", DEFAULT.hidden2, kind="int", lo=0, hi=512, options=(0, *HIDDEN_OPTIONS)),
    Param("dropout", "train.dropout", DEFAULT.dropout, lo=0.0, hi=tr.DROPOUT_MAX),
    Param("opt", "train.optimizer", DEFAULT.optimizer, kind="choice", choices=tr.OPTIMIZERS),
    Param("lr", "train.lr", DEFAULT.lr, lo=LR_OPTIONS[0], hi=LR_OPTIONS[-1], options=LR_OPTIONS),
    Param("bs", "train.batch_size", DEFAULT.batch_size, kind="int", lo=1, hi=512, options=BATCH_OPTIONS),
    Param("epochs", "train.epochs", DEFAULT.epochs, kind="int", lo=1, hi=50),
    Param("seed", "train.seed", DEFAULT.seed, kind="int", lo=0, hi=2**31 - 1),
)
ACTIVE = "train.active"  # this session's run id while it is queued or training
POLLED = "train.polled"  # the run state the page's polling interval was chosen for
# How often the live part asks the runner: twice a second while a run trains, every
# 2 s while it waits in the queue (its place changes rarely; 20 queued pages polling
# twice a second would cost the server as much as the training pages themselves).
POLL_SECONDS = {"running": 0.5, "queued": 2.0}
RUNS = "train.runs"  # this session's finished runs (RunView), oldest first
CURVES = "train.curves"  # the last curve figures drawn, with what they showed: a poll with no new epoch reuses them
NOTICE = "train.notice"  # a message to show once (download result, run lost)


@st.cache_resource
def runner() -> Runner:
    """One runner for the whole server: the limit on concurrent runs is server-wide. It ends its
    workers at exit, before multiprocessing's own exit handler (which found process objects the
    runner was closing at the same moment, and logged a traceback)."""
    shared = Runner()
    atexit.register(shared.shutdown, timeout=5.0)
    return shared


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
        hidden=int(s["train.hidden"]),
        hidden2=int(s["train.hidden2"]),
        dropout=float(s["train.dropout"]),
        optimizer=s["train.optimizer"],
        lr=float(s["train.lr"]),
        batch_size=int(s["train.batch_size"]),
        epochs=int(s["train.epochs"]),
        seed=int(s["train.seed"]),
    )


def value_text(name: str, value: object) -> str:
    if name == "norm":
        return t(f"train.norm_{value}")
    if name == "placement":
        return t(f"train.place_{value}")
    if name == "optimizer":
        return t(f"train.opt_{value}")
    if name == "dropout":
        return f"{value:g}" if value else t("train.off")
    if name == "hidden2":
        return str(value) if value else t("train.off")
    return f"{value:g}" if isinstance(value, float) else str(value)


def labels(configs: list[tr.TrainConfig]) -> list[str]:
    """Each run named by what differs from the others; the first run alone by its normalization."""
    varying = [f.name for f in fields(tr.TrainConfig) if len({getattr(c, f.name) for c in configs}) > 1]
    if not varying:
        varying = ["norm"]

    def part(name: str, config: tr.TrainConfig) -> str:
        value = value_text(name, getattr(config, name))
        return value if name == "norm" else f"{t(f'train.field_{name}')} {value}"

    return [f"#{i + 1} " + ", ".join(part(n, c) for n in varying[:3]) for i, c in enumerate(configs)]


# --- controls ---------------------------------------------------------------
def controls() -> None:
    st.selectbox(
        t("train.dataset"), digit_data.DATASETS, format_func=lambda d: t(f"train.data_{d}"), key="train.dataset"
    )
    st.selectbox(t("train.norm"), tr.NORMS, format_func=lambda n: t(f"train.norm_{n}"), key="train.norm")
    st.radio(
        t("train.placement"),
        tr.PLACEMENTS,
        format_func=lambda p: t(f"train.place_{p}"),
        key="train.placement",
        horizontal=True,
        disabled=st.session_state["train.norm"] == "none",
    )
    st.select_slider(t("train.hidden"), HIDDEN_OPTIONS, key="train.hidden")
    st.select_slider(
        t("train.hidden2"), (0, *HIDDEN_OPTIONS), format_func=lambda v: value_text("hidden2", v), key="train.hidden2"
    )
    st.slider(t("train.dropout"), 0.0, tr.DROPOUT_MAX, step=0.05, key="train.dropout", help=t("train.dropout_help"))
    st.radio(
        t("train.optimizer"),
        tr.OPTIMIZERS,
        format_func=lambda o: t(f"train.opt_{o}"),
        key="train.optimizer",
        horizontal=True,
    )
    st.select_slider(t("train.lr"), LR_OPTIONS, format_func=lambda v: f"{v:g}", key="train.lr")
    st.select_slider(t("train.batch_size"), BATCH_OPTIONS, key="train.batch_size")
    st.slider(t("train.epochs"), 1, 50, key="train.epochs")
    st.number_input(t("train.seed"), 0, 2**31 - 1, step=1, key="train.seed")


def mnist_ready() -> bool:
    directory = digit_data.mnist_dir()
    return all(digit_data.find_mnist_file(directory, name) for name, _ in digit_data.MNIST_FILES.values())


def use_digits() -> None:
    st.session_state["train.dataset"] = "digits"


def download() -> None:
    try:
        digit_data.download_mnist()
        st.session_state[NOTICE] = ("success", t("train.mnist_downloaded"))
    except digit_data.DataUnavailable as err:
        st.session_state[NOTICE] = ("error", t(f"train.data_{err.reason}", detail=err.detail))


def mnist_missing() -> None:
    st.warning(t("train.mnist_missing", dir=str(digit_data.mnist_dir())), icon=":material/folder_off:")
    left, right = st.columns(2)
    left.button(t("train.mnist_download"), on_click=download, icon=":material/download:", width="stretch")
    right.button(t("train.use_digits"), on_click=use_digits, width="stretch")


def problems_message(problems: list[str], hidden: int) -> None:
    if "batch_of_one" in problems:
        st.error(t("train.batch_of_one"), icon=":material/block:")
        st.code(f"ValueError: {single_value_message((1, hidden))}", language=None)
        st.markdown(t("train.batch_of_one_ways"))
    others = [p for p in problems if p != "batch_of_one"]
    if others:  # only reachable by hand-edited state; the widgets keep values in range
        st.error(t("train.bad_settings", which=", ".join(others)), icon=":material/block:")


def start(config: tr.TrainConfig) -> None:
    s = st.session_state
    directory = str(digit_data.mnist_dir()) if config.dataset == "mnist" else None
    s[ACTIVE] = runner().submit(config, mnist_directory=directory)


def stop() -> None:
    run_id = st.session_state.get(ACTIVE)
    if run_id:
        runner().stop(run_id)


def keep(view: RunView) -> None:
    runs = st.session_state.setdefault(RUNS, [])
    runs.append(view)
    del runs[:-MAX_RUNS]


def remove_run(index: int) -> None:
    runs = st.session_state.get(RUNS, [])
    if 0 <= index < len(runs):
        runs.pop(index)


# --- live -------------------------------------------------------------------
def poll_seconds() -> float | None:
    """The live part's polling interval for this session's run; None when there is none."""
    s = st.session_state
    view = runner().view(s[ACTIVE]) if ACTIVE in s else None
    s[POLLED] = view.state if view is not None else None
    return POLL_SECONDS.get(s[POLLED])


def live() -> None:
    """Progress and curves; the page runs this as a fragment every poll_seconds() while a run is active."""
    s = st.session_state
    run_id = s.get(ACTIVE)
    view = runner().view(run_id) if run_id else None
    if view is not None and view.active and view.state != s.get(POLLED):
        st.rerun()  # queued -> running: the whole page, to poll at the training pace
    if run_id and view is None:  # the runner forgot it: the page stopped polling for too long
        s.pop(ACTIVE, None)
        s[NOTICE] = ("warning", t("train.lost"))
        st.rerun()
    if view is not None and not view.active:
        s.pop(ACTIVE, None)
        if view.state == "finished":
            keep(view)
        else:
            s[NOTICE] = ("error", failure_text(view))
        runner().forget(view.run_id)
        st.rerun()  # the whole page: results, and no more polling
    if view is not None:
        progress(view)
    curves(s.get(RUNS, []), view)


def failure_text(view: RunView) -> str:
    if view.error in ("missing", "bad_file", "offline", "checksum", "unknown"):
        return t(f"train.data_{view.error}", detail=view.detail)
    if view.error == "stopped_in_queue":
        return t("train.stopped_in_queue")
    return t("train.crashed")


def progress(view: RunView) -> None:
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    if view.state == "queued":
        left.info(t("train.queued", place=view.place, limit=runner().max_concurrent), icon=":material/hourglass:")
    else:
        fraction = view.done / view.total if view.total else 0.0
        remaining = "…" if view.seconds_left is None else f"{view.seconds_left:.0f}"
        text = t("train.progress", epoch=len(view.epochs), epochs=view.config.epochs, left=remaining)
        left.progress(min(fraction, 1.0), text=text)
    right.button(t("train.stop"), on_click=stop, icon=":material/stop_circle:", key="train.stop", width="stretch")


def curves(kept: list[RunView], current: RunView | None) -> None:
    shown = [v for v in kept if v.epochs] + ([current] if current is not None and current.epochs else [])
    if not shown:
        if current is None:
            st.info(t("train.empty"), icon=":material/play_circle:")
        return
    names = labels([v.config for v in shown])
    if current is not None and current.epochs:
        names[-1] += " " + t("train.live")
    columns = st.columns(2)
    drawn = (current_lang(), tuple(names), tuple((v.run_id, len(v.epochs)) for v in shown))
    kept_figures = st.session_state.get(CURVES)
    if kept_figures is None or kept_figures[0] != drawn:
        kept_figures = st.session_state[CURVES] = (drawn, curve_figures(names, shown))
    for column, (metric, figure) in zip(columns, kept_figures[1].items(), strict=True):
        column.plotly_chart(figure, key=f"train.curve_{metric}")


def curve_figures(names: list[str], shown: list[RunView]) -> dict:
    """Loss and accuracy curves of the runs shown, one figure each."""
    figures = {}
    for metric, title, percent in (("loss", t("train.loss"), False), ("accuracy", t("train.accuracy"), True)):
        series = []
        for name, v in zip(names, shown, strict=True):
            x = np.array([e.epoch for e in v.epochs])
            train_y = np.array([getattr(e, f"train_{metric}") for e in v.epochs])
            val_y = np.array([getattr(e, f"val_{metric}") for e in v.epochs])
            series.append((name, x, train_y, val_y))
        figures[metric] = charts.curves_figure(
            series,
            title=title,
            x_title=t("train.epoch"),
            y_title=title,
            train_name=t("train.train"),
            val_name=t("train.val"),
            percent=percent,
        )
    return figures


# --- results ------------------------------------------------------------------
def run_summary(view: RunView, name: str) -> None:
    h = view.history
    cols = st.columns(4)
    cols[0].metric(t("train.test_accuracy"), "—" if h.test_accuracy is None else f"{h.test_accuracy:.1%}")
    last = h.epochs[-1] if h.epochs else None
    cols[1].metric(t("train.val_accuracy"), "—" if last is None else f"{last.val_accuracy:.1%}")
    cols[2].metric(t("train.epochs_done"), f"{len(h.epochs)} / {h.config.epochs}")
    cols[3].metric(t("train.seconds"), f"{h.seconds:.1f} s")
    if h.stopped == "diverged":
        st.error(t("train.diverged", epoch=h.diverged_at, loss=f"{h.diverged_loss:.3g}"), icon=":material/trending_up:")
    elif h.stopped == "user":
        st.info(t("train.stopped"), icon=":material/stop_circle:")
    elif last is not None and last.val_accuracy < 0.2:
        st.warning(t("train.not_learning"), icon=":material/warning:")
    st.caption(name)


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
    image = (np.clip(flat.reshape(shape), 0.0, 1.0) * 255).astype(np.uint8)
    scale = max(1, 64 // shape[0])
    return np.kron(image, np.ones((scale, scale), np.uint8))


def state_dict_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def inside(view: RunView) -> None:
    h = view.history
    if not h.epochs:
        st.info(t("train.no_results"), icon=":material/info:")
        return
    st.markdown(t("train.inside_intro"))
    n = len(h.epochs)
    unit = st.radio(t("train.unit"), range(tr.PROBE_UNITS), horizontal=True, key="train.unit")
    chosen = st.multiselect(
        t("train.epochs_shown"), range(1, n + 1), default=sorted({1, n}), max_selections=2, key=f"train.shown_{n}"
    )
    chosen = sorted(chosen) or [n]
    left, right = st.columns(2)
    for column, field_name, title in ((left, "probe_z", t("train.probe_z")), (right, "probe_h", t("train.probe_h"))):
        values = [getattr(h.epochs[e - 1], field_name)[:, unit] for e in chosen]
        span = charts.display_range(*values, base=(-2.0, 2.0))
        fig = charts.histogram_figure(
            histogram(values[-1], 30, span),
            title=title,
            x_title=t("train.value"),
            y_title=t("common.share"),
            name=t("train.epoch_n", n=chosen[-1]),
            ghost=histogram(values[0], 30, span) if len(values) > 1 else None,
            ghost_name=t("train.epoch_n", n=chosen[0]),
        )
        column.plotly_chart(fig, key=f"train.inside_{field_name}")
    if h.epochs[0].running_mean is None:
        st.info(t("train.no_running"), icon=":material/info:")
        return
    x = np.array([e.epoch for e in h.epochs])
    series = [(f"μ {i}", np.array([e.running_mean[i] for e in h.epochs]), "solid") for i in range(tr.PROBE_UNITS)]
    series += [(f"σ² {i}", np.array([e.running_var[i] for e in h.epochs]), "dot") for i in range(tr.PROBE_UNITS)]
    st.plotly_chart(
        charts.lines_figure(x, series, title=t("train.running"), x_title=t("train.epoch"), y_title=t("train.value")),
        key="train.running",
    )


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
