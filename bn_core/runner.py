"""Training runs off the page: worker processes that train one run at a time, a
server-wide limit on concurrent runs with a queue, stop, and a heartbeat that ends runs
nobody watches any more.

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
    runner.stop(run_id)

No Streamlit here: the page keeps one Runner for the whole server.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from bn_core.data import DataUnavailable, load
from bn_core.train import EpochRecord, History, TrainConfig, model_from, train, weights_of

HEARTBEAT_TIMEOUT = 8.0  # seconds without a view() before a run counts as abandoned
STOP_GRACE = 5.0  # seconds a worker gets to stop by itself before it is terminated
IDLE_TIMEOUT = 60.0  # seconds an idle worker waits for another run before it ends
PROGRESS_EVERY = 0.1  # seconds between progress messages from a worker
# The lowest priority: training takes what the pages leave. A page's 20 ms of NumPy work took
# 25 ms with four busy processes at nice 10 beside it, 20.6 ms with them at nice 19 (measured).
WORKER_NICE = 19
CONCURRENCY_ENV = "BN_LAB_MAX_RUNS"
# Imported once by the forkserver, so that a forked worker starts warm: "__main__" spares each
# child re-running the main script, torch's optimizers import torch._dynamo (1.7 s) on first use,
# the digits come through sklearn.datasets (1 s), and the warm-up trains once per optimizer.
PRELOAD = ["__main__", "bn_core.runner", "torch._dynamo", "sklearn.datasets", "bn_core.forkserver_warmup"]


def default_concurrency() -> int:
    raw = os.environ.get(CONCURRENCY_ENV, "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return os.cpu_count() or 1


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
    seconds_left: float | None
    history: History | None  # once finished, with its model rebuilt
    error: str | None = None  # failed: a reason code (DataUnavailable's, or "crash")
    detail: str = ""
    image_shape: tuple[int, int] | None = None

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
    last_seen: float
    mnist_directory: str | None = None
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
        config, mnist_directory = job
        try:
            if kept is None or kept[:2] != (config.dataset, mnist_directory):
                kept = None  # one data set at a time: MNIST takes 200 MB
                kept = (config.dataset, mnist_directory, load(config.dataset, mnist_directory))
            _train_one(config, kept[2], conn, stop_event)
        except (BrokenPipeError, EOFError):
            return  # the server is gone: nobody to tell
        except DataUnavailable as err:
            conn.send(("failed", err.reason, err.detail))
        except Exception as err:  # noqa: BLE001 - reported to the page as a failed run
            conn.send(("failed", "crash", repr(err)))


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


def _train_one(config: TrainConfig, data, conn: Connection, stop_event) -> None:
    """Train one run, reporting the data's shape, each epoch, the progress and the result through ``conn``."""
    last = [0.0]
    stop_seen = [0.0, False]

    def should_stop() -> bool:  # asking the Event takes a lock; once every 50 ms is soon enough
        now = time.monotonic()
        if now - stop_seen[0] >= 0.05:
            stop_seen[:] = [now, stop_event.is_set()]
        return stop_seen[1]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or done == total:
            last[0] = now
            conn.send(("progress", done, total))

    conn.send(("data", data.n_inputs, data.image_shape))
    history = train(
        config,
        on_epoch=lambda record: conn.send(("epoch", record)),
        should_stop=should_stop,
        data=data,
        on_progress=progress,
    )
    weights = weights_of(history.model)
    history.model = None
    conn.send(("done", history, weights, data.n_inputs))


class Runner:
    def __init__(
        self,
        max_concurrent: int | None = None,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        start_method: str = "forkserver",
        idle_timeout: float = IDLE_TIMEOUT,
    ):
        self.max_concurrent = max_concurrent or default_concurrency()
        self.heartbeat_timeout = heartbeat_timeout
        self.idle_timeout = idle_timeout
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            from multiprocessing import forkserver

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
    def submit(self, config: TrainConfig, mnist_directory: str | None = None) -> str:
        problems = config.problems()
        if problems:
            raise ValueError(f"cannot train with this configuration: {', '.join(problems)}")
        run = _Run(uuid.uuid4().hex[:12], config, last_seen=time.monotonic(), mnist_directory=mnist_directory)
        with self._lock:
            self._closing = False
            self._runs[run.run_id] = run
            self._queue.append(run.run_id)
            ready = self._start_queued()
            self._ensure_monitor()
        self._launch(ready)
        return run.run_id

    def view(self, run_id: str) -> RunView | None:
        """A snapshot of the run (None if unknown or forgotten); counts as a heartbeat."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return None
            run.last_seen = time.monotonic()
            return self._snapshot(run)

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
    def _snapshot(self, run: _Run) -> RunView:
        place = self._queue.index(run.run_id) + 1 if run.state == "queued" else None
        left = None
        if run.state == "running" and run.done and run.total and run.started is not None:
            elapsed = time.monotonic() - run.started
            left = elapsed / run.done * (run.total - run.done)
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
                worker.conn.send((run.config, run.mnist_directory))
            except Exception as err:  # noqa: BLE001 - e.g. no forkserver: the run fails, the page says so
                with self._lock:
                    run.state, run.error, run.detail = "failed", "crash", repr(err)
                    if worker is not None:
                        worker.run_id = None
                continue
            with self._lock:
                run.launched = True
                # the time spent starting is nobody's absence
                run.started = run.last_seen = time.monotonic()
                if run.stop_asked is not None:  # stopped while it was being launched
                    worker.stop_event.set()

    def _ensure_monitor(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._monitor, name="bn-lab-runner", daemon=True)
            self._thread.start()

    def _receive(self, run: _Run, message: tuple) -> None:
        kind = message[0]
        if kind == "progress":
            run.done, run.total = message[1], message[2]
        elif kind == "data":
            run.image_shape = tuple(message[2])
        elif kind == "epoch":
            run.epochs.append(message[1])
        elif kind == "done":  # its model was rebuilt by _unpack
            run.history, run.state = message[1], "finished"
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
            run.state, run.error = "failed", "crash"

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
                for run in list(self._runs.values()):
                    launching = run.state == "running" and not run.launched
                    if now - run.last_seen > self.heartbeat_timeout and not launching:  # nobody is watching
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
                if message[0] in ("done", "failed"):
                    self._release(worker, time.monotonic())
                    run = None
            if closed and worker in self._workers:
                self._drop(worker)
        if closed:
            self._end(worker, ask=False)
