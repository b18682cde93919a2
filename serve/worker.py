"""Inside a worker process: compute the runs the runner (serve.runner) sends, one after another, at
full speed, at the lowest priority, reporting measures, progress and the result through a pipe.

Messages a worker sends, as tuples: ("data", n_inputs, image_shape), ("progress", done, total,
step_seconds), ("measure", Measure), ("epoch", EpochRecord), ("done", History without its model,
weights, n_inputs, seconds), ("result", experiment result, seconds), ("failed", reason, detail).
It receives ("run", config, mnist_directory, max_seconds, max_steps), or None: end.
"""

from __future__ import annotations

import io
import os
import time
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import set_spawning_popen

from bn_core.data import DataUnavailable, load
from bn_core.experiments import Stopped
from bn_core.train import TrainConfig, train, weights_of
from serve.jobs import Job, run_job
from serve.memory import return_freed_memory

PROGRESS_EVERY = 0.1  # seconds between progress messages from a worker
STOP_CHECK_EVERY = 0.05  # seconds between looks at the stop event
# The lowest priority: training takes what the pages leave. A page's 20 ms of NumPy work took
# 25 ms with four busy processes at nice 10 beside it, 20.6 ms with them at nice 19 (measured).
WORKER_NICE = 19


class BarePopen(popen_forkserver.Popen):
    """A forkserver child that does not run the parent's main script. multiprocessing tells every
    child to run ``sys.modules["__main__"]`` first, and under Streamlit that is a page script: each
    worker start ran the app in bare mode (about 38 "missing ScriptRunContext" warnings, a phantom
    page run). A worker's target lives in this module, so its children need no main module.
    ``_launch`` is CPython 3.11's, with the main module left out of the preparation data."""

    def _launch(self, process_obj):
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)  # the child's sentinel of its parent, as in CPython
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Stopper:
    """Inside a worker: asked before every training step. It ends a run that the server asked to
    stop, or that reached its cap in steps or seconds (``reason`` says which: "stopped" or "cap")."""

    def __init__(self, stop_event, max_seconds: float, max_steps: int):
        self.stop_event, self.max_steps = stop_event, max_steps
        self.deadline = time.monotonic() + max_seconds
        self.steps, self.looked = 0, 0.0
        self.reason: str | None = None
        self.working_since: float | None = None
        self.step_seconds: float | None = None

    def __call__(self) -> str | None:
        now = time.monotonic()
        if self.working_since is not None:
            work = now - self.working_since
            self.step_seconds = work if self.step_seconds is None else 0.8 * self.step_seconds + 0.2 * work
        self.working_since = now
        if self.steps >= self.max_steps or now > self.deadline:
            self.reason = "cap"
        elif now - self.looked >= STOP_CHECK_EVERY:
            self.looked = now
            if self.stop_event.is_set():
                self.reason = "stopped"
        self.steps += 1
        return self.reason


def work(conn: Connection, stop_event) -> None:
    """A worker process: compute the runs it receives one after another, until told to end."""
    import torch

    _lowest_priority()
    torch.set_num_threads(1)
    kept: tuple | None = None  # the last data set, (name, directory, Dataset): the next run likely wants it too
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        _, config, mnist_directory, max_seconds, max_steps = job
        started = time.monotonic()
        try:
            dataset = config.dataset if isinstance(config, TrainConfig) else "digits"
            if kept is None or kept[:2] != (dataset, mnist_directory):
                kept = None  # one data set at a time: MNIST takes 55 MB (uint8 pixels)
                kept = (dataset, mnist_directory, load(dataset, mnist_directory))
            one = _experiment_one if isinstance(config, Job) else _train_one
            one(config, kept[2], conn, _Stopper(stop_event, max_seconds, max_steps), started)
        except (BrokenPipeError, EOFError):
            return  # the server is gone: nobody to tell
        except DataUnavailable as err:
            conn.send(("failed", err.reason, err.detail))
        except Exception as err:  # noqa: BLE001 - reported to the page as a failed run
            conn.send(("failed", "crash", repr(err)))
        return_freed_memory()


def _lowest_priority() -> None:
    """nice 19, in a session of its own at the lowest weight. Linux shares CPU time between
    sessions ("autogroups") before it looks at nice values, so a nice worker in the server's
    session still took its session's share from a browser on the same machine (a teacher's
    laptop): Chromium's work per slider move grew ~40 ms while four runs trained (measured)."""
    try:
        os.nice(WORKER_NICE)
        os.setsid()  # also: a Ctrl-C at the server's terminal reaches the server, which ends its workers
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(WORKER_NICE))
    except OSError:  # no autogroups (another kernel, another OS): nice alone
        pass


def _train_one(config: TrainConfig, data, conn: Connection, stopper: _Stopper, started: float) -> None:
    """Train one run at full speed, reporting the data's shape, its measures, each epoch, the
    progress and the result through ``conn``."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if done == total or time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            conn.send(("progress", done, total, stopper.step_seconds))

    conn.send(("data", data.n_inputs, data.image_shape))
    history = train(
        config,
        on_epoch=lambda record: conn.send(("epoch", record)),
        should_stop=stopper,
        data=data,
        on_progress=progress,
        on_measure=lambda measure: conn.send(("measure", measure)),
    )
    if stopper.reason == "stopped":  # nobody wants it any more: no record of a run cut short
        conn.send(("failed", "stopped", ""))
        return
    weights = weights_of(history.model)
    history.model = None
    conn.send(("done", history, weights, data.n_inputs, time.monotonic() - started))


def _experiment_one(job: Job, data, conn: Connection, stopper: _Stopper, started: float) -> None:
    """Run one experiment (``serve.jobs``), reporting its progress and result through ``conn``;
    it asks ``stopper`` before every training step, so a stop and the caps work as for a run."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if done == total or time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            conn.send(("progress", done, total, stopper.step_seconds))

    conn.send(("data", data.n_inputs, data.image_shape))
    try:
        result = run_job(job, data, should_stop=stopper, on_progress=progress)
    except Stopped:
        conn.send(("failed", stopper.reason or "stopped", ""))
        return
    conn.send(("result", result, time.monotonic() - started))
