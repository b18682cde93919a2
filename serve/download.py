"""MNIST downloaded once per server, in the background, with its progress readable by any page.

    job = MnistDownload()       # the server keeps one (a page: st.cache_resource)
    job.start()                 # True: this call started it; False: one is already under way
    job.progress()              # DownloadProgress(state="running", received=..., total=...)

A press of the page's button must not hold the page while 11 MB arrive, and thirty students
pressing it at once must not start thirty downloads: ``start`` runs ``download_mnist``
(bounded in size and time) in one thread, under a lock. ``BN_LAB_MNIST_DOWNLOAD=0`` turns the
download off for a server (see ``allowed``); ``BN_LAB_MNIST_URL`` names another mirror (a folder
holding the four gzip files, with a trailing slash).

No Streamlit here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bn_core import data
from bn_core.data import MNIST_FILES, MNIST_SIZES, DataUnavailable, mnist_dir

DOWNLOAD_ENV = "BN_LAB_MNIST_DOWNLOAD"
URL_ENV = "BN_LAB_MNIST_URL"
OFF = ("0", "false", "no", "off")
DOWNLOAD_DEADLINE = 300.0  # seconds for the four files together (11.6 MB: at least ~40 KB/s)
READ_TIMEOUT = 10.0  # seconds one read may wait (the deadline is checked between reads)
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # a public mirror of the original files


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, target: Path, size: int, deadline: float, on_bytes: Callable[[int], None] | None = None) -> None:
    """Write the body at ``url`` to ``target``, reading at most ``size`` bytes and stopping at
    ``deadline`` (time.monotonic()). ``on_bytes(n)`` hears about every chunk. Raises
    DataUnavailable('too_large' | 'timeout') or OSError."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise DataUnavailable("timeout", Path(url).name)
    with urllib.request.urlopen(url, timeout=min(READ_TIMEOUT, left)) as response, target.open("wb") as out:
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > size:
            raise DataUnavailable("too_large", Path(url).name)
        received = 0
        while True:
            if time.monotonic() > deadline:
                raise DataUnavailable("timeout", Path(url).name)
            # read1: what one socket read returns (read(n) would wait for n bytes of a slow body)
            chunk = response.read1(data.CHUNK)
            if not chunk:
                return
            received += len(chunk)
            if received > size:
                raise DataUnavailable("too_large", Path(url).name)
            out.write(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))


def download_mnist(
    directory: str | Path | None = None,
    base_url: str = MNIST_URL,
    checksums: dict[str, str] | None = None,
    sizes: dict[str, int] | None = None,
    deadline: float = DOWNLOAD_DEADLINE,
    on_bytes: Callable[[int], None] | None = None,
) -> Path:
    """Fetch the four gzip files that are not there yet, within ``deadline`` seconds for all of
    them, reading no more than each file's size, verify each MD5 sum and only then move it into
    place. ``checksums`` and ``sizes`` map file name to MD5 and bytes (default: the published
    ones). Raises DataUnavailable('offline' | 'timeout' | 'too_large' | 'checksum')."""
    directory = Path(directory) if directory is not None else mnist_dir()
    checksums = checksums or {name: md5 for name, md5 in MNIST_FILES.values()}
    sizes = sizes or MNIST_SIZES
    ends = time.monotonic() + deadline
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataUnavailable("not_writable", type(err).__name__) from err
    for name in data.missing_mnist(directory):
        try:
            with tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False) as part:
                tmp = Path(part.name)
        except OSError as err:
            raise DataUnavailable("not_writable", type(err).__name__) from err
        try:
            fetch(f"{base_url}{name}.gz", tmp, sizes[name], ends, on_bytes)
            if md5_of(tmp) != checksums[name]:
                raise DataUnavailable("checksum", f"{name}.gz")
        except BaseException as err:  # nothing half-written stays behind
            tmp.unlink(missing_ok=True)
            if isinstance(err, OSError):  # urllib's errors, refused connections, a read that timed out
                raise DataUnavailable("timeout" if isinstance(err, TimeoutError) else "offline", f"{name}.gz") from err
            raise
        tmp.replace(directory / f"{name}.gz")
    return directory


def allowed() -> bool:
    """Whether this server offers the download: yes unless $BN_LAB_MNIST_DOWNLOAD is 0/false/no/off."""
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() not in OFF


def mirror_url() -> str:
    """Where the files are fetched from: $BN_LAB_MNIST_URL, else MNIST_URL."""
    return os.environ.get(URL_ENV) or MNIST_URL


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
    ``sizes`` and ``deadline`` go to download_mnist (tests serve small files on loopback)."""

    def __init__(
        self,
        directory: str | Path | None = None,
        base_url: str | None = None,
        checksums: dict[str, str] | None = None,
        sizes: dict[str, int] | None = None,
        deadline: float = DOWNLOAD_DEADLINE,
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
            sizes = self.options["sizes"] or MNIST_SIZES
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
            download_mnist(directory, base_url, on_bytes=self._received, **self.options)
            end = {"state": "done"}
        except data.DataUnavailable as err:
            end = {"state": "failed", "error": err.reason, "detail": err.detail}
        except Exception as err:  # noqa: BLE001 - a page shows the failure; the thread must end its state
            end = {"state": "failed", "error": "crash", "detail": type(err).__name__}
        with self._lock:
            p = self._progress
            self._progress = DownloadProgress(received=p.received, total=p.total, attempt=p.attempt, **end)
