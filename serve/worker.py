"""Inside a worker process: compute the runs the runner (serve.runner) sends, several at a time, each
at full speed in a thread of its own, at the lowest priority, reporting measures, progress and the
result through a pipe.

Why threads: a class asks for many runs at once, and a run that waits in a queue shows its student
nothing. Runs side by side take turns on the worker's core (``Turns``): one computes at a time, for
``TURN`` seconds, and the next turn goes to the waiting run that has computed the fewest steps, so a
run a student starts while thirty others compute shows its first steps within a fraction of a
second, and then all progress together. Sixty runs of the digits took 26 s this way on two cores,
24 s one after another (but the last started after 23 s) and 33 s left to the interpreter's own
switching between threads. A model of the
digits is a few hundred kilobytes; a thread costs far less than a process of its own.

The messages, both ways, are serve/protocol.py's.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import set_spawning_popen

from bn_core.data import Dataset, DataUnavailable, load
from bn_core.experiments import Stopped
from bn_core.train import TrainConfig, train, weights_of
from serve.jobs import Job, run_job
from serve.memory import return_freed_memory
from serve.protocol import Computed, Data, Epoch, Failed, Measured, Progress, Start, Stop, Trained

PROGRESS_EVERY = 0.1  # seconds between progress messages of a run
STOP_CHECK_EVERY = 0.05  # seconds between looks at a run's stop flag
# The lowest priority: training takes what the pages leave. A page's 20 ms of NumPy work took
# 25 ms with four busy processes at nice 10 beside it, 20.6 ms with them at nice 19 (measured).
WORKER_NICE = 19
TURN = 0.05  # seconds a run computes before the run with the fewest steps takes its turn
Tell = Callable[..., None]  # sends one report of a run, tagged with its id: tell(Progress, done, total, seconds)


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


class Turns:
    """Which of a worker's runs computes: one at a time; when a turn ends it goes to the waiting run with
    the fewest steps (among equals, the one that has waited longest), so a new run goes next and the
    others take turns. A turn is handed straight to the next run: waking every
    waiting thread to let them look (a condition's notify_all) cost a class's runs 30 % more CPU."""

    def __init__(self):
        self._lock = threading.Lock()
        self._holder: str | None = None
        self._waiting: dict[str, tuple[tuple[int, int], threading.Event]] = {}  # run -> ((steps, ask), wake)
        self._asked = 0

    def take(self, run: str, steps: int) -> None:
        with self._lock:
            self._asked += 1
            if self._holder is None and not self._waiting:
                self._holder = run
                return
            wake = threading.Event()
            self._waiting[run] = ((steps, self._asked), wake)
        wake.wait()  # give() made this run the holder

    def give(self, run: str) -> None:
        with self._lock:
            if self._holder != run:
                return
            self._holder = None
            if self._waiting:
                nxt = min(self._waiting, key=lambda r: self._waiting[r][0])
                _, wake = self._waiting.pop(nxt)
                self._holder = nxt
                wake.set()


class Stopper:
    """Asked before every training step of one run: it hands the worker's core to another run when the
    run's turn is over, and ends a run that the server asked to stop, or that reached its cap in steps or
    seconds (``reason`` says which: "stopped" or "cap")."""

    def __init__(self, max_seconds: float, max_steps: int, run: str = "", turns: Turns | None = None):
        self.run, self.turns = run, turns or Turns()
        self.turn_since = 0.0
        self.stop = threading.Event()
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.used = 0.0  # seconds of turns before the current one: the cap counts the run's own time
        self.steps, self.looked = 0, 0.0
        self.reason: str | None = None
        self.working_since: float | None = None
        self.step_seconds: float | None = None

    def begin(self) -> None:
        self.turns.take(self.run, 0)
        self.turn_since = time.monotonic()

    def end(self) -> None:
        self.turns.give(self.run)

    def seconds(self) -> float:
        """The run's own computing time so far (its turns, not its waits for them)."""
        return self.used + time.monotonic() - self.turn_since

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now - self.turn_since >= TURN:  # the turn is over: the run with the fewest steps goes next
            self.used += now - self.turn_since
            self.turns.give(self.run)  # (it may hand the turn straight back: no run has fewer steps)
            self.turns.take(self.run, self.steps)
            now = self.turn_since = time.monotonic()
            self.working_since = None  # the wait is no step's work
        if self.working_since is not None:  # time per step while it computes
            work = now - self.working_since
            self.step_seconds = work if self.step_seconds is None else 0.8 * self.step_seconds + 0.2 * work
        self.working_since = now
        if self.steps >= self.max_steps or self.seconds() > self.max_seconds:
            self.reason = "cap"
        elif now - self.looked >= STOP_CHECK_EVERY:
            self.looked = now
            if self.stop.is_set():
                self.reason = "stopped"
        self.steps += 1
        return self.reason


class DataSets:
    """The data sets this worker's runs use, loaded once each (runs read them, never change them)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sets: dict[tuple, Dataset] = {}

    def get(self, name: str, directory: str | None) -> Dataset:
        with self._lock:  # two runs asking at once load MNIST once
            if (name, directory) not in self._sets:
                self._sets[(name, directory)] = load(name, directory)
            return self._sets[(name, directory)]


def work(conn: Connection) -> None:
    """A worker process: start a thread for each run it receives; end when told to, or when the server
    is gone (its end of the pipe closes)."""
    import torch

    _lowest_priority()
    torch.set_num_threads(1)
    sending = threading.Lock()
    data, turns = DataSets(), Turns()
    runs: dict[str, tuple[threading.Thread, Stopper]] = {}

    def send(message) -> None:
        with sending:  # one message at a time on the pipe, from any run's thread
            conn.send(message)

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone: nobody to tell (the runs' threads end with the process)
        if message is None:
            return
        for run_id in [r for r, (thread, _) in runs.items() if not thread.is_alive()]:
            del runs[run_id]
        if isinstance(message, Start):
            run_id = message.run_id
            stopper = Stopper(message.max_seconds, message.max_steps, run_id, turns)
            thread = threading.Thread(
                target=compute,
                args=(run_id, message.config, message.directory, stopper, send, data),
                name=f"run-{run_id}",
            )
            thread.daemon = True
            runs[run_id] = (thread, stopper)
            thread.start()
        elif isinstance(message, Stop) and message.run_id in runs:
            runs[message.run_id][1].stop.set()


def compute(run_id: str, config: TrainConfig | Job, directory: str | None, stopper: Stopper, send, data) -> None:
    """One run, in its thread: its reports go out tagged with its id."""

    def tell(report: type, *fields) -> None:
        send(report(run_id, *fields))

    stopper.begin()  # its first turn: a new run has computed no step, so it goes next
    try:
        dataset = data.get(config.dataset if isinstance(config, TrainConfig) else "digits", directory)
        one = _experiment_one if isinstance(config, Job) else _train_one
        one(config, dataset, tell, stopper)
    except (BrokenPipeError, EOFError):
        return  # the server is gone
    except DataUnavailable as err:
        tell(Failed, err.reason, err.detail)
    except Exception as err:  # noqa: BLE001 - reported to the page as a failed run
        tell(Failed, "crash", repr(err))
    finally:
        stopper.end()
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


def reporter(tell: Tell, stopper: Stopper) -> Callable[[int, int], None]:
    """A run's ``on_progress``: its steps done, at most every PROGRESS_EVERY seconds, and the last."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if done == total or time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            tell(Progress, done, total, stopper.step_seconds)

    return progress


def _train_one(config: TrainConfig, data: Dataset, tell: Tell, stopper: Stopper) -> None:
    """Train one run at full speed, reporting the data's shape, its measures, each epoch, the progress
    and the result."""
    progress = reporter(tell, stopper)
    tell(Data, data.n_inputs, data.image_shape)
    history = train(
        config,
        on_epoch=lambda record: tell(Epoch, record),
        should_stop=stopper,
        data=data,
        on_progress=progress,
        on_measure=lambda measure: tell(Measured, measure),
    )
    if stopper.reason == "stopped":  # nobody wants it any more: no record of a run cut short
        tell(Failed, "stopped", "")
        return
    weights = weights_of(history.model)
    history.model = None
    tell(Trained, history, weights, data.n_inputs, stopper.seconds())


def _experiment_one(job: Job, data: Dataset, tell: Tell, stopper: Stopper) -> None:
    """Run one experiment (``serve.jobs``), reporting its progress and result; it asks ``stopper``
    before every training step, so a stop and the caps work as for a run."""
    progress = reporter(tell, stopper)
    tell(Data, data.n_inputs, data.image_shape)
    try:
        result = run_job(job, data, should_stop=stopper, on_progress=progress)
    except Stopped:
        tell(Failed, stopper.reason or "stopped", "")
        return
    tell(Computed, result, stopper.seconds())
