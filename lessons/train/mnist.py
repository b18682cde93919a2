"""MNIST for the `train` lesson: whether its files are there, and their download with its progress
(serve.download), or the way back to the bundled digits."""

from __future__ import annotations

import streamlit as st

from bn_core import data as digit_data
from lessons.train.state import (
    DOWNLOAD_POLL,
    DOWNLOAD_SEEN,
    NOTICE,
)
from serve.download import MnistDownload
from serve.download import allowed as download_allowed
from ui import notice
from ui.i18n import num, t


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
