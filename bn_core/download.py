"""MNIST downloaded once per server, in the background, with its progress readable by any page.

    job = MnistDownload()       # the server keeps one (a page: st.cache_resource)
    job.start()                 # True: this call started it; False: one is already under way
    job.progress()              # DownloadProgress(state="running", received=..., total=...)

A press of the page's button must not hold the page while 11 MB arrive, and thirty students
pressing it at once must not start thirty downloads: ``start`` runs ``data.download_mnist``
(bounded in size and time) in one thread, under a lock. ``BN_LAB_MNIST_DOWNLOAD=0`` turns the
download off for a server (see ``allowed``); ``BN_LAB_MNIST_URL`` names another mirror (a folder
holding the four gzip files, with a trailing slash).

No Streamlit here.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from bn_core import data

DOWNLOAD_ENV = "BN_LAB_MNIST_DOWNLOAD"
URL_ENV = "BN_LAB_MNIST_URL"
OFF = ("0", "false", "no", "off")


def allowed() -> bool:
    """Whether this server offers the download: yes unless $BN_LAB_MNIST_DOWNLOAD is 0/false/no/off."""
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() not in OFF


def mirror_url() -> str:
    """Where the files are fetched from: $BN_LAB_MNIST_URL, else data.MNIST_URL."""
    return os.environ.get(URL_ENV) or data.MNIST_URL


@dataclass(frozen=True)
class DownloadProgress:
    state: str  # "idle" (never started) | "running" | "done" | "failed"
    received: int = 0  # bytes so far
    total: int = 0  # bytes of the files that were missing when it started
    error: str | None = None  # failed: DataUnavailable's reason code
    detail: str = ""
    attempt: int = 0  # downloads started so far (a page tells one attempt's end from the next)


class MnistDownload:
    """One MNIST download at a time for the whole server. ``directory`` (default: data.mnist_dir())
    and ``base_url`` (default: mirror_url()) are looked up when a download starts; they, ``checksums``,
    ``sizes`` and ``deadline`` go to data.download_mnist (tests serve small files on loopback)."""

    def __init__(
        self,
        directory: str | Path | None = None,
        base_url: str | None = None,
        checksums: dict[str, str] | None = None,
        sizes: dict[str, int] | None = None,
        deadline: float = data.DOWNLOAD_DEADLINE,
    ):
        self.directory, self.base_url = directory, base_url
        self.options = {"checksums": checksums, "sizes": sizes, "deadline": deadline}
        self._lock = threading.Lock()
        self._progress = DownloadProgress("idle")
        self._thread: threading.Thread | None = None

    def progress(self) -> DownloadProgress:
        with self._lock:
            return self._progress

    def start(self) -> bool:
        """Start a download unless one is running (then False). Files already there are not fetched
        again: after a finished download a new one ends at once."""
        with self._lock:
            if self._progress.state == "running":
                return False
            directory = Path(self.directory) if self.directory is not None else data.mnist_dir()
            sizes = self.options["sizes"] or data.MNIST_SIZES
            total = sum(sizes[name] for name in data.missing_mnist(directory))
            self._progress = DownloadProgress("running", 0, total, attempt=self._progress.attempt + 1)
            url = self.base_url or mirror_url()
            self._thread = threading.Thread(target=self._run, args=(directory, url), name="bn-lab-mnist", daemon=True)
            self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _received(self, n: int) -> None:
        with self._lock:
            p = self._progress
            self._progress = DownloadProgress(p.state, p.received + n, p.total, attempt=p.attempt)

    def _run(self, directory: Path, base_url: str) -> None:
        try:
            data.download_mnist(directory, base_url, on_bytes=self._received, **self.options)
            end = {"state": "done"}
        except data.DataUnavailable as err:
            end = {"state": "failed", "error": err.reason, "detail": err.detail}
        except Exception as err:  # noqa: BLE001 - a page shows the failure; the thread must end its state
            end = {"state": "failed", "error": "crash", "detail": type(err).__name__}
        with self._lock:
            p = self._progress
            self._progress = DownloadProgress(received=p.received, total=p.total, attempt=p.attempt, **end)
