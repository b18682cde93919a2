"""Training runs off the page: worker processes that train one run at a time, a
server-wide limit on concurrent runs with a bounded queue, a limit per owner, stop, and an
end for runs nobody watches any more.

Why processes, not threads: a small network's training loop is mostly Python, so
training threads would hold the GIL that every page of the server needs. Workers run at
the lowest priority (nice 19) with one torch thread each, so the pages stay responsive
while runs train. They are forked from a forkserver that has already imported torch and
trained once (so a run starts in milliseconds), and a worker that finishes a run waits
for the next one: a warm worker trains a run as fast as a plain loop in a warm process.
Idle workers end after a minute.

    runner = Runner(max_concurrent=2)
    run_id = runner.submit(TrainConfig(norm="batch"))
    view = runner.view(run_id)          # also tells the runner someone is watching
    runner.pace(run_id, speed=5, paused=False)   # 5 steps a second; speed None: as fast as it can
    runner.step(run_id)                 # one batch, while paused
    runner.stop(run_id)

A run lives while someone watches it. A run without an owner needs a view() at least every
``heartbeat_timeout`` seconds. A run with an owner (a page passes its session's id) lives as long
as the owner does: the runner asks ``owner_alive(owner)`` (a callable the page supplies, which
must be cheap and safe to call from any thread) and ends the run once the owner has not been
alive for ``owner_timeout`` seconds. A page sets that to its server's own grace for a dropped
connection, so a run survives any network drop its session survives.

A paced or paused worker waits on its pipe (with a timeout, to look at the stop event):
it holds no CPU while it waits.

No Streamlit here: the page keeps one Runner for the whole server.
"""

from __future__ import annotations

import heapq
import io
import math
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerProcess, set_spawning_popen

from bn_core.data import DataUnavailable, load
from bn_core.experiments import Stopped
from bn_core.jobs import Job, run_job
from bn_core.limits import cpu_limit, remove_stale_pymp
from bn_core.memory import return_freed_memory
from bn_core.train import (
    EpochRecord,
    History,
    Measure,
    TrainConfig,
    keep_measure,
    measure_interval,
    model_from,
    steps_per_epoch,
    train,
    weights_of,
)

HEARTBEAT_TIMEOUT = 8.0  # seconds without a view() before a run counts as abandoned
STOP_GRACE = 5.0  # seconds a worker gets to stop by itself before it is terminated
IDLE_TIMEOUT = 60.0  # seconds an idle worker waits for another run before it ends
PROGRESS_EVERY = 0.1  # seconds between progress messages from a worker
STOP_CHECK_EVERY = 0.05  # seconds between looks at the stop event and the pipe while training flat out
WAIT_SLICE = 0.25  # a waiting worker looks at the stop event this often (it wakes at once for a command)
SPEEDS = (1, 5, 20, 100, None)  # steps per second a page offers; None: as fast as it can
ESTIMATE_AFTER = 10  # steps timed before a run at full speed gets a time estimate
MEASURE_EVERY_STEP = 20  # at this pace (steps per second) or slower, every step is measured
# The lowest priority: training takes what the pages leave. A page's 20 ms of NumPy work took
# 25 ms with four busy processes at nice 10 beside it, 20.6 ms with them at nice 19 (measured).
WORKER_NICE = 19
CONCURRENCY_ENV = "BN_LAB_MAX_RUNS"
QUEUE_ENV = "BN_LAB_MAX_QUEUE"  # runs that may wait in the queue (server-wide)
PER_OWNER_ENV = "BN_LAB_MAX_RUNS_PER_SESSION"  # runs one owner (a page's session) may have queued or training
DEFAULT_MAX_QUEUE = 16  # 8 pairs: behind two slots, a wait of a few runs' length each
DEFAULT_MAX_PER_OWNER = 2  # one pair (a run and its twin without normalization)
# Imported once by the forkserver, so that a forked worker starts warm: torch's optimizers import
# torch._dynamo (1.7 s) on first use, the digits come through sklearn.datasets (1 s), and the warm-up
# trains once per optimizer. Not "__main__": under Streamlit that is whichever page script ran last,
# and a worker needs nothing from it (see _BarePopen).
PRELOAD = ["bn_core.runner", "torch._dynamo", "sklearn.datasets", "bn_core.forkserver_warmup"]


def default_concurrency() -> int:
    raw = os.environ.get(CONCURRENCY_ENV, "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return cpu_limit()  # the container's CPU quota and affinity, not just the host's core count


def env_limit(name: str, default: int) -> int:
    """A limit from the environment: a whole number >= 0 (0 for the queue: no queue at all), else ``default``."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


class LimitReached(Exception):
    """A submit the runner refuses: ``reason`` "queue" (the queue is full) or "session" (the owner
    already has ``limit`` runs queued or training)."""

    def __init__(self, reason: str, limit: int):
        super().__init__(f"{reason} limit reached ({limit})")
        self.reason, self.limit = reason, limit


def queue_wait(remaining: list[float | None], slots: int, ahead: int, duration: float | None) -> float | None:
    """Seconds until a queued run starts: ``slots`` runs train at a time, the running ones end in
    ``remaining`` seconds (None: not known, e.g. paused), and each of the ``ahead`` runs before it
    in the queue holds a slot for ``duration`` seconds. None when that depends on something unknown."""
    free = sorted([math.inf if r is None else max(r, 0.0) for r in remaining] + [0.0] * (slots - len(remaining)))
    free = free[:slots] if slots > 0 else [math.inf]
    for _ in range(ahead):
        if duration is None:
            return None
        heapq.heappush(free, heapq.heappop(free) + duration)
    return None if math.isinf(free[0]) else free[0]


class _BarePopen(popen_forkserver.Popen):
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


@dataclass
class RunView:
    """What a page shows about a run: a snapshot, safe to keep."""

    run_id: str
    config: TrainConfig
    state: str  # "queued" | "running" | "finished" | "failed"
    place: int | None  # 1-based place in the queue while queued
    epochs: list[EpochRecord]
    done: int  # batches trained
    total: int  # batches in the whole run (0 until the worker knows)
    seconds_left: float | None  # None: not known yet, or paused
    history: History | None  # once finished, with its model rebuilt
    error: str | None = None  # failed: a reason code (DataUnavailable's, or "crash")
    detail: str = ""
    image_shape: tuple[int, int] | None = None
    measures: list[Measure] = field(default_factory=list)
    speed: float | None = None  # steps per second; None: as fast as it can
    paused: bool = False
    step_seconds: float | None = None  # the worker's measured time per step (training and measuring)
    wait_seconds: float | None = None  # queued: estimated seconds until it starts (None: not known)
    result: object = None  # a finished experiment's result (a Job's run; a training run has its history)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")


@dataclass
class _Worker:
    """A worker process and its pipe (jobs go out, a run's messages come back)."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    stop_event: object
    run_id: str | None = None  # the run it trains; None while idle
    idle_since: float = 0.0


@dataclass
class _Run:
    run_id: str
    config: TrainConfig
    last_seen: float  # when it was last viewed, or its owner last seen alive
    mnist_directory: str | None = None
    owner: str | None = None
    state: str = "queued"
    launched: bool = False  # its job has reached its worker
    stop_asked: float | None = None
    started: float | None = None
    epochs: list[EpochRecord] = field(default_factory=list)
    done: int = 0
    total: int = 0
    history: History | None = None
    error: str | None = None
    detail: str = ""
    image_shape: tuple[int, int] | None = None
    measures: list[Measure] = field(default_factory=list)
    speed: float | None = None
    paused: bool = False
    steps: int = 0  # single steps asked for while paused, not yet passed on to the worker
    step_seconds: float | None = None
    progress_at: float = 0.0  # when its last progress message arrived
    mark: tuple[float, int] | None = None  # (time, steps done) of its first progress at the current pace
    result: object = None


def _worker(conn: Connection, stop_event) -> None:
    """A worker process: train the runs it receives one after another, until told to end."""
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
        if job[0] != "run":  # a command for a run that has already ended
            continue
        _, config, mnist_directory, speed, paused, steps = job
        try:
            if kept is None or kept[:2] != (config.dataset, mnist_directory):
                kept = None  # one data set at a time: MNIST takes 55 MB (uint8 pixels)
                kept = (config.dataset, mnist_directory, load(config.dataset, mnist_directory))
            one = _experiment_one if isinstance(config, Job) else _train_one
            one(config, kept[2], conn, _Pacer(conn, stop_event, speed, paused, steps))
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


class _Pacer:
    """Inside a worker: holds a run at its pace, or while it is paused, and reads the page's
    commands ("pace", "step") between steps. It waits by blocking on the pipe with a timeout
    (a command wakes it at once; the timeout lets it look at the stop event), never by spinning."""

    def __init__(self, conn: Connection, stop_event, speed: float | None, paused: bool, steps: int):
        self.conn, self.stop_event = conn, stop_event
        self.speed, self.paused, self.steps = speed, paused, steps
        self.next_at = 0.0  # when the next step may start, at a pace
        self.looked = 0.0  # when the pipe and the stop event were last looked at
        self.working_since: float | None = None
        self.step_seconds: float | None = None
        self.on_hold = lambda: None  # called before the run waits (the worker sends its progress)

    @property
    def slow(self) -> bool:
        return self.paused or (self.speed is not None and self.speed <= MEASURE_EVERY_STEP)

    def _commands(self) -> None:
        while self.conn.poll():
            message = self.conn.recv()
            if message[0] == "pace":
                self.speed, self.paused = message[1], message[2]
                self.next_at = 0.0
            elif message[0] == "step":
                self.steps += 1

    def _stop_asked(self) -> bool:
        self.looked = time.monotonic()
        self._commands()
        return self.stop_event.is_set()

    def should_stop(self) -> bool:
        """Asked before every batch: waits until the batch may start; True if the run must stop."""
        now = time.monotonic()
        if self.working_since is not None:  # the last step's work (and measure), without any waiting
            work = now - self.working_since
            self.step_seconds = work if self.step_seconds is None else 0.8 * self.step_seconds + 0.2 * work
        if (now - self.looked >= STOP_CHECK_EVERY or self.slow) and self._stop_asked():
            return True
        while True:
            if self.paused and self.steps == 0:
                wait_for = WAIT_SLICE
                self.on_hold()
            elif self.speed is not None and self.next_at > time.monotonic():
                wait_for = min(self.next_at - time.monotonic(), WAIT_SLICE)
            else:
                break
            command = self.conn.poll(wait_for)  # blocks: no CPU while it waits
            if (command or time.monotonic() - self.looked >= STOP_CHECK_EVERY) and self._stop_asked():
                return True
        if self.paused:
            self.steps -= 1
        now = time.monotonic()
        if self.speed is not None:  # keep the cadence, but never catch up with a burst
            self.next_at = max(self.next_at + 1.0 / self.speed, now)
        self.working_since = now
        return False


def _train_one(config: TrainConfig, data, conn: Connection, pacer: _Pacer) -> None:
    """Train one run, reporting the data's shape, its measures, each epoch, the progress and the
    result through ``conn``."""
    last = [0.0]
    done_total = [0, 0]
    every = measure_interval(steps_per_epoch(len(data.y_train), config) * config.epochs)

    def send_progress() -> None:
        last[0] = time.monotonic()
        conn.send(("progress", *done_total, pacer.step_seconds))

    def progress(done: int, total: int) -> None:
        done_total[:] = [done, total]
        if pacer.slow or done == total or time.monotonic() - last[0] >= PROGRESS_EVERY:
            send_progress()

    pacer.on_hold = lambda: send_progress() if last[0] < (pacer.working_since or 0.0) else None
    conn.send(("data", data.n_inputs, data.image_shape))
    history = train(
        config,
        on_epoch=lambda record: conn.send(("epoch", record)),
        should_stop=pacer.should_stop,
        data=data,
        on_progress=progress,
        on_measure=lambda measure: conn.send(("measure", measure)),
        measure_at=lambda step: pacer.slow or step % every == 0,
    )
    weights = weights_of(history.model)
    history.model = None
    conn.send(("done", history, weights, data.n_inputs))


def _experiment_one(job: Job, data, conn: Connection, pacer: _Pacer) -> None:
    """Run one experiment (``bn_core.jobs``), reporting its progress and result through ``conn``;
    it asks the pacer before every training step, so Stop and the pace work as for a run."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if done == total or time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            conn.send(("progress", done, total, pacer.step_seconds))

    conn.send(("data", data.n_inputs, data.image_shape))
    try:
        result = run_job(job, data, should_stop=pacer.should_stop, on_progress=progress)
    except Stopped:
        conn.send(("failed", "stopped", ""))
        return
    conn.send(("result", result))


class Runner:
    def __init__(
        self,
        max_concurrent: int | None = None,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        start_method: str = "forkserver",
        idle_timeout: float = IDLE_TIMEOUT,
        *,
        max_queue: int | None = None,
        max_per_owner: int | None = None,
        owner_alive: Callable[[str], bool] | None = None,
        owner_timeout: float = HEARTBEAT_TIMEOUT,
    ):
        self.max_concurrent = max_concurrent or default_concurrency()
        self.max_queue = env_limit(QUEUE_ENV, DEFAULT_MAX_QUEUE) if max_queue is None else max_queue
        self.max_per_owner = env_limit(PER_OWNER_ENV, DEFAULT_MAX_PER_OWNER) if max_per_owner is None else max_per_owner
        self.heartbeat_timeout = heartbeat_timeout
        self.owner_alive = owner_alive
        self.owner_timeout = owner_timeout
        self.idle_timeout = idle_timeout
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            remove_stale_pymp()  # temp directories of forkservers killed with SIGKILL
            self._ctx.set_forkserver_preload(PRELOAD)
            # start the forkserver (a few seconds of imports) now, not on the first click
            threading.Thread(target=forkserver.ensure_running, name="bn-lab-forkserver", daemon=True).start()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._queue: list[str] = []
        self._workers: list[_Worker] = []
        self._closing = False
        self._thread: threading.Thread | None = None
        self._leaving: threading.Thread | None = None  # a monitor that has decided to end

    # --- what pages call -------------------------------------------------
    def submit(
        self,
        config: TrainConfig | Job,
        mnist_directory: str | None = None,
        *,
        speed: float | None = None,
        paused: bool = False,
        steps: int = 0,
        owner: str | None = None,
    ) -> str:
        """Queue a run at ``speed`` steps per second (None: as fast as it can), or ``paused``
        (then it trains ``steps`` single steps and waits). ``owner``: see the module's docstring.
        A ``Job`` runs a named experiment; its view's ``result`` holds what it returned.
        Raises ValueError for a configuration that cannot train, LimitReached past a limit."""
        return self.submit_many([config], mnist_directory, speed=speed, paused=paused, steps=steps, owner=owner)[0]

    def submit_many(
        self,
        configs: list[TrainConfig],
        mnist_directory: str | None = None,
        *,
        speed: float | None = None,
        paused: bool = False,
        steps: int = 0,
        owner: str | None = None,
    ) -> list[str]:
        """Queue several runs (a pair) together: all of them, or none if a limit refuses them."""
        for config in configs:
            problems = config.problems()
            if problems:
                raise ValueError(f"cannot train with this configuration: {', '.join(problems)}")
        now = time.monotonic()
        runs = []
        for config in configs:
            run = _Run(uuid.uuid4().hex[:12], config, last_seen=now, mnist_directory=mnist_directory, owner=owner)
            run.speed, run.paused, run.steps = speed, paused, steps
            runs.append(run)
        with self._lock:
            self._check_limits(len(runs), owner)
            self._closing = False
            for run in runs:
                self._runs[run.run_id] = run
                self._queue.append(run.run_id)
            ready = self._start_queued()
            self._ensure_monitor()
        self._launch(ready)
        return [run.run_id for run in runs]

    def adopt(self, run_id: str, owner: str) -> bool:
        """Give a run to ``owner`` (a reloaded page's new session) if its owner is gone or has lost
        its connection; False if it is unknown or its owner is still there (say, a duplicated tab)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return False
            if run.owner not in (None, owner) and self._alive(run.owner):
                return False
            run.owner, run.last_seen = owner, time.monotonic()
            return True

    def view(self, run_id: str) -> RunView | None:
        """A snapshot of the run (None if unknown or forgotten); counts as a heartbeat."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return None
            run.last_seen = time.monotonic()
            return self._snapshot(run)

    def pace(self, run_id: str, speed: float | None, paused: bool) -> None:
        """Change a run's pace: ``speed`` steps per second (None: as fast as it can), or pause it."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.state in ("queued", "running"):
                run.speed, run.paused, run.mark = speed, paused, None
                self._tell(run, ("pace", speed, paused))

    def step(self, run_id: str) -> None:
        """One batch of a paused run."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.state in ("queued", "running") and run.paused:
                if not self._tell(run, ("step",)):
                    run.steps += 1  # goes with its job

    def stop(self, run_id: str) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                self._stop(run)

    def forget(self, run_id: str) -> None:
        """Stop the run if it is still going, and drop it."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            self._stop(run)
            if run.state in ("finished", "failed"):
                del self._runs[run_id]

    def counts(self) -> dict[str, int]:
        with self._lock:
            states = [r.state for r in self._runs.values()]
        return {s: states.count(s) for s in ("queued", "running", "finished", "failed")}

    def workers_alive(self) -> int:
        with self._lock:
            return sum(1 for w in self._workers if w.process.is_alive())

    def monitor_alive(self) -> bool:
        """Whether a monitor thread is still working (also one that is ending its last workers)."""
        return any(thread is not None and thread.is_alive() for thread in (self._thread, self._leaving))

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every run and end every worker."""
        with self._lock:
            ids = list(self._runs)
        for run_id in ids:
            self.forget(run_id)
        with self._lock:
            self._closing = True  # the monitor ends idle workers at once, and then itself
        deadline = time.monotonic() + timeout
        while self.monitor_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    # --- inside the lock ---------------------------------------------------
    def _check_limits(self, n: int, owner: str | None) -> None:
        if owner is not None:
            mine = sum(1 for r in self._runs.values() if r.owner == owner and r.state in ("queued", "running"))
            if mine + n > self.max_per_owner:
                raise LimitReached("session", self.max_per_owner)
        running = sum(1 for r in self._runs.values() if r.state == "running")
        waiting = len(self._queue) + n - max(self.max_concurrent - running, 0)
        if waiting > self.max_queue:
            raise LimitReached("queue", self.max_queue)

    def _alive(self, owner: str) -> bool:
        try:
            return self.owner_alive is not None and bool(self.owner_alive(owner))
        except Exception:  # noqa: BLE001 - a failing check must not end the monitor; the owner counts as absent
            return False

    def _wait(self, run: _Run) -> float | None:
        """A queued run's estimated wait, from the running runs' measured times and its place.
        Each run ahead of it is taken to last as long as the running runs do on average."""
        remaining, durations = [], []
        for other in self._runs.values():
            if other.state != "running":
                continue
            per_step = self._per_step(other)
            if per_step is None or not other.total:
                remaining.append(None)
                continue
            remaining.append(per_step * (other.total - other.done))
            durations.append(per_step * other.total)
        duration = sum(durations) / len(durations) if durations else None
        return queue_wait(remaining, self.max_concurrent, self._queue.index(run.run_id), duration)

    @staticmethod
    def _per_step(run: _Run) -> float | None:
        """Seconds per step of a running run, or None while paused. Once it has trained
        ESTIMATE_AFTER steps at its current pace: their average wall-clock time (measures, waits
        and a loaded machine included; the worker's own per-step time swings with every measure).
        Before that, the worker's time per step or the pace, whichever is slower; at full speed
        no guess at all (the first steps run cold)."""
        if run.paused:
            return None
        pace = 1.0 / run.speed if run.speed else 0.0
        if run.mark is not None and run.done - run.mark[1] >= ESTIMATE_AFTER:
            return max((run.progress_at - run.mark[0]) / (run.done - run.mark[1]), pace)
        per_step = max(run.step_seconds or 0.0, pace)
        return per_step if per_step > 0 and run.speed is not None else None

    def _tell(self, run: _Run, message: tuple) -> bool:
        """Send a command to the run's worker, if its job has reached it (else False)."""
        worker = self._worker_of(run) if run.launched and run.state == "running" else None
        if worker is None:
            return False
        try:
            worker.conn.send(message)
        except OSError:  # the worker is gone: the monitor reports the run as failed
            pass
        return True

    def _snapshot(self, run: _Run) -> RunView:
        place = self._queue.index(run.run_id) + 1 if run.state == "queued" else None
        left = None
        if run.state == "running" and run.total:
            per_step = self._per_step(run)
            left = per_step * (run.total - run.done) if per_step is not None else None
        return RunView(
            run.run_id,
            run.config,
            run.state,
            place,
            list(run.epochs),
            run.done,
            run.total,
            left,
            run.history,
            run.error,
            run.detail,
            run.image_shape,
            list(run.measures),
            run.speed,
            run.paused,
            run.step_seconds,
            self._wait(run) if run.state == "queued" else None,
            result=run.result,
        )

    def _stop(self, run: _Run) -> None:
        if run.state == "queued":
            self._queue.remove(run.run_id)
            run.state, run.error = "failed", "stopped_in_queue"
        elif run.state == "running" and run.stop_asked is None:
            run.stop_asked = time.monotonic()
            if run.launched:  # otherwise _launch passes it on
                self._worker_of(run).stop_event.set()

    def _worker_of(self, run: _Run) -> _Worker | None:
        return next((w for w in self._workers if w.run_id == run.run_id), None)

    def _start_queued(self) -> list[_Run]:
        """Take runs off the queue while there is room, each with an idle worker if there is one;
        the caller launches them outside the lock."""
        running = sum(1 for r in self._runs.values() if r.state == "running")
        idle = [w for w in self._workers if w.run_id is None]
        ready = []
        while self._queue and running < self.max_concurrent:
            run = self._runs[self._queue.pop(0)]
            run.state = "running"
            if idle:
                idle.pop(0).run_id = run.run_id
            ready.append(run)
            running += 1
        return ready

    def _start_worker(self) -> _Worker:
        ours, theirs = self._ctx.Pipe(duplex=True)
        stop_event = self._ctx.Event()
        process = self._ctx.Process(
            target=_worker, args=(theirs, stop_event), name=f"bn-lab-worker-{uuid.uuid4().hex[:6]}", daemon=True
        )
        if isinstance(process, ForkServerProcess):
            process._Popen = _BarePopen  # start() calls self._Popen(self): no main script in the child
        try:
            process.start()
        finally:
            theirs.close()  # the worker holds the only other end: its exit closes the pipe
        return _Worker(process, ours, stop_event)

    def _launch(self, runs: list[_Run]) -> None:
        """Hand the runs to their workers, starting a worker where there was no idle one. Not under
        the lock: the first start after a server starts waits for the forkserver's imports (seconds),
        and pages must not wait with it."""
        for run in runs:
            with self._lock:
                worker = self._worker_of(run)  # an idle one, given to it by _start_queued
            try:
                if worker is None:
                    worker = self._start_worker()
                    worker.run_id = run.run_id
                    with self._lock:
                        self._workers.append(worker)
                worker.stop_event.clear()  # a stop from an earlier run must not reach this one
                with self._lock:
                    # the job carries the pace as it is now, and the run counts as launched in the same
                    # breath: from here on pace() and step() reach the worker as commands
                    worker.conn.send(("run", run.config, run.mnist_directory, run.speed, run.paused, run.steps))
                    run.steps, run.launched = 0, True
                    # the time spent starting is nobody's absence
                    run.started = run.last_seen = time.monotonic()
                    if run.stop_asked is not None:  # stopped while it was being launched
                        worker.stop_event.set()
            except Exception as err:  # noqa: BLE001 - e.g. no forkserver: the run fails, the page says so
                with self._lock:
                    run.state, run.error, run.detail = "failed", "crash", repr(err)
                    if worker is not None:
                        worker.run_id = None

    def _ensure_monitor(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._monitor, name="bn-lab-runner", daemon=True)
            self._thread.start()

    def _receive(self, run: _Run, message: tuple) -> None:
        kind = message[0]
        if kind == "progress":
            run.done, run.total, run.step_seconds = message[1], message[2], message[3]
            run.progress_at = time.monotonic()
            if run.mark is None:
                run.mark = (run.progress_at, run.done)
        elif kind == "measure":
            keep_measure(run.measures, message[1])
        elif kind == "data":
            run.image_shape = tuple(message[2])
        elif kind == "epoch":
            run.epochs.append(message[1])
        elif kind == "done":  # its model was rebuilt by _unpack
            run.history, run.state = message[1], "finished"
        elif kind == "result":  # an experiment's
            run.result, run.state = message[1], "finished"
        elif kind == "failed":
            run.state, run.error, run.detail = "failed", message[1], message[2]

    @staticmethod
    def _unpack(message: tuple) -> tuple:
        """Work on a message that needs no lock: rebuilding a finished run's model takes milliseconds."""
        if message[0] == "done":
            history, weights, n_inputs = message[1], message[2], message[3]
            history.model = model_from(history.config, n_inputs, weights)
            return ("done", history)
        return message

    @staticmethod
    def _release(worker: _Worker, now: float) -> None:
        """The worker's run has ended: the worker waits for the next."""
        worker.run_id, worker.idle_since = None, now

    def _drop(self, worker: _Worker) -> None:
        """The worker's pipe has closed (it crashed, was terminated, or ended): out of the pool."""
        self._workers.remove(worker)
        run = self._runs.get(worker.run_id) if worker.run_id else None
        if run is not None and run.state == "running":  # ended without a last word
            # asked to stop and terminated after STOP_GRACE (a busy machine): stopped, not a crash
            run.state, run.error = "failed", "stopped" if run.stop_asked is not None else "crash"

    @staticmethod
    def _end(worker: _Worker, ask: bool) -> None:
        """Collect a worker's process (asking it to end first if ``ask``); outside the lock."""
        if ask:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        worker.conn.close()
        worker.process.join(STOP_GRACE)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.process.close()

    # --- the monitor thread ---------------------------------------------
    def _monitor(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                present = {o for o in {r.owner for r in self._runs.values()} - {None} if self._alive(o)}
                for run in list(self._runs.values()):
                    launching = run.state == "running" and not run.launched
                    if run.owner in present:
                        run.last_seen = now
                    timeout = self.heartbeat_timeout if run.owner is None else self.owner_timeout
                    if now - run.last_seen > timeout and not launching:  # nobody is watching
                        if run.state in ("finished", "failed"):  # its worker was released with its last word
                            del self._runs[run.run_id]
                        else:
                            self._stop(run)
                    worker = self._worker_of(run) if run.stop_asked is not None and run.launched else None
                    if worker is not None and now - run.stop_asked > STOP_GRACE:
                        worker.process.terminate()  # its pipe closes: _drop
                ready = self._start_queued()
                limit = 0.0 if self._closing else self.idle_timeout
                ending = [w for w in self._workers if w.run_id is None and now - w.idle_since >= limit]
                for worker in ending:
                    self._workers.remove(worker)
                done = not self._runs and not self._workers
                if done:  # a submit from now on starts a new monitor
                    self._thread, self._leaving = None, threading.current_thread()
                conns = {w.conn: w for w in self._workers}
            for worker in ending:
                self._end(worker, ask=True)
            if done:
                return
            self._launch(ready)
            if not conns:
                time.sleep(0.1)
                continue
            for conn in wait(list(conns), timeout=0.1):
                self._read(conns[conn])

    def _read(self, worker: _Worker) -> None:
        # Read and unpickle outside the lock (only this thread reads the pipes):
        # every page's poll waits for the lock, so it is held for microseconds.
        messages, closed = [], False
        try:
            while worker.conn.poll():
                messages.append(self._unpack(worker.conn.recv()))
        except (EOFError, OSError):
            closed = True
        with self._lock:
            run = self._runs.get(worker.run_id) if worker.run_id else None
            for message in messages:
                if run is not None:
                    self._receive(run, message)
                if message[0] in ("done", "result", "failed"):
                    self._release(worker, time.monotonic())
                    run = None
            if closed and worker in self._workers:
                self._drop(worker)
        if closed:
            self._end(worker, ask=False)
