"""The sections of the `train` lesson. A pair of runs is computed once on the server at full speed
(serve.runner, through ui.runs) and played back in the browser (ui.player); this module lays out
the controls, the playback and the results."""

from __future__ import annotations

import io
import pickle

import numpy as np
import streamlit as st
import torch

from bn_core import data as digit_data
from bn_core import train as tr
from bn_core.batchnorm import single_value_message
from lessons.train.kept import MAX_AGE, MAX_TABS, Record
from lessons.train.state import (
    ACTIVE,
    AUTOPLAY,
    BATCH_OPTIONS,
    CHOSEN,
    COUNTER,
    DOWNLOAD_POLL,
    DOWNLOAD_SEEN,
    GROUPS,
    HIDDEN_OPTIONS,
    KEPT_AS,
    KEPT_FOR,
    LR_OPTIONS,
    MAX_GROUPS,
    NOTICE,
    PACE,
    PRESET_CHOICES,
    RESTART,
    WHOLE_PAGE,
)
from serve.download import MnistDownload
from serve.download import allowed as download_allowed
from serve.limits import LimitReached
from serve.records import RunView
from serve.store import BoundedStore
from ui import charts, notice, player, runs
from ui.controls import decimal_slider
from ui.i18n import num, pct, seconds, t
from ui.state import current


@st.cache_resource
def kept() -> BoundedStore:
    """One store for the server: each browser tab's runs (their record keys), across reloads."""
    return BoundedStore(
        lambda record: len(pickle.dumps(record)), max_items=MAX_TABS, max_bytes=4 * 2**20, max_age=MAX_AGE
    )


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


def speed() -> float:
    """The player's pace, in steps a second."""
    return player.steps_per_second(current(PACE), PACE.default)


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
    st.selectbox(t("train.preset"), PRESET_CHOICES, format_func=lambda p: t(f"train.preset_{p}"), key="train.preset")


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
    decimal_slider(t("train.dropout"), 0.0, tr.DROPOUT_MAX, 0.05, key="train.dropout", help=t("train.dropout_help"))
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
    """One MNIST download for the whole server, in a thread of its own (see serve.download)."""
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


# --- a run: computed on the server, played back in the browser -------------------------------
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


# --- live -------------------------------------------------------------------
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
    elif h.stopped == "cap":  # a server's limit on a run's steps or seconds
        st.warning(t("train.capped", step=num(h.measures[-1].step, ",d")), icon=":material/timer:")
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
    """Once per session, when the tab's id is known: take back what the tab kept before a reload (the
    records of its groups, and the computation it waited for). A record the server no longer has is
    named in a notice."""
    s = st.session_state
    if tab is None or s.get(KEPT_FOR) == tab:
        return
    s[KEPT_FOR] = tab
    record = kept().get(tab)
    if record is None or s.get(GROUPS) or s.get(ACTIVE):  # this session's own are newer
        return
    groups, lost = [], 0
    for name, keys in record.groups:
        found = [v for v in runs.views(list(keys)) if v is not None and v.state == "finished"]
        if len(found) == len(keys):
            groups.append({"name": name, "runs": found})
        else:
            lost += 1
    s[GROUPS] = groups
    s[COUNTER] = max(s.get(COUNTER, 0), record.counter)
    if record.configs:
        try:  # asking again joins the computation, or finds its record
            s[ACTIVE] = runs.request(list(record.configs), record.directory)
            s["train.group_name"] = record.group_name
        except (LimitReached, ValueError):
            lost += 1
    if lost:
        notice.post(NOTICE, "warning", t("train.records_gone", n=lost))


def save_kept() -> None:
    """Keep this session's record keys under its tab's id (when they changed; nothing for an empty page)."""
    s = st.session_state
    tab = s.get(KEPT_FOR)
    groups, active = s.get(GROUPS, []), s.get(ACTIVE, [])
    if tab is None or not (groups or active or s.get(KEPT_AS)):
        return
    views = [v for v in runs.views(active) if v is not None] if active else []
    configs = tuple(v.config for v in views) if len(views) == len(active) else ()
    directory = str(digit_data.mnist_dir()) if configs and configs[0].dataset == "mnist" else None
    record = Record(
        s.get(COUNTER, 0),
        tuple((g["name"], tuple(v.run_id for v in g["runs"])) for g in groups),
        configs,
        directory,
        s.get("train.group_name", ""),
    )
    if s.get(KEPT_AS) != record:
        kept().put(tab, record)
        s[KEPT_AS] = record
