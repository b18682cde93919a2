"""Training runs off the page: one worker process per run, a server-wide limit
on concurrent runs with a queue, stop, and a heartbeat that ends runs nobody
watches any more.

Why processes, not threads: a small network's training loop is mostly Python,
so training threads would hold the GIL that every page of the server needs.
Worker processes run at a lower priority (nice 10) with one torch thread each,
so the pages stay responsive while runs train. They are forked from a
forkserver that has already imported torch, so a run starts in milliseconds.

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
PROGRESS_EVERY = 0.1  # seconds between progress messages from a worker
WORKER_NICE = 10
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
class _Run:
    run_id: str
    config: TrainConfig
    last_seen: float
    mnist_directory: str | None = None
    state: str = "queued"
    process: multiprocessing.process.BaseProcess | None = None
    conn: Connection | None = None
    stop_event: object | None = None
    stop_asked: float | None = None
    started: float | None = None
    epochs: list[EpochRecord] = field(default_factory=list)
    done: int = 0
    total: int = 0
    history: History | None = None
    error: str | None = None
    detail: str = ""
    n_inputs: int = 0
    image_shape: tuple[int, int] | None = None


def _worker(config: TrainConfig, mnist_directory: str | None, conn: Connection, stop_event) -> None:
    """A worker process: train, reporting each epoch and the progress through ``conn``."""
    import torch

    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass
    torch.set_num_threads(1)
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

    try:
        data = load(config.dataset, mnist_directory)
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
    except (BrokenPipeError, EOFError):
        pass  # the server is gone (shut down): nobody to tell
    except DataUnavailable as err:
        conn.send(("failed", err.reason, err.detail))
    except Exception as err:  # noqa: BLE001 - reported to the page as a failed run
        conn.send(("failed", "crash", repr(err)))
    finally:
        conn.close()


class Runner:
    def __init__(
        self,
        max_concurrent: int | None = None,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        start_method: str = "forkserver",
    ):
        self.max_concurrent = max_concurrent or default_concurrency()
        self.heartbeat_timeout = heartbeat_timeout
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            from multiprocessing import forkserver

            self._ctx.set_forkserver_preload(PRELOAD)
            # start the forkserver (a few seconds of imports) now, not on the first click
            threading.Thread(target=forkserver.ensure_running, name="bn-lab-forkserver", daemon=True).start()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._queue: list[str] = []
        self._thread: threading.Thread | None = None

    # --- what pages call -------------------------------------------------
    def submit(self, config: TrainConfig, mnist_directory: str | None = None) -> str:
        problems = config.problems()
        if problems:
            raise ValueError(f"cannot train with this configuration: {', '.join(problems)}")
        run = _Run(uuid.uuid4().hex[:12], config, last_seen=time.monotonic(), mnist_directory=mnist_directory)
        with self._lock:
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
            return sum(1 for r in self._runs.values() if r.process is not None and r.process.is_alive())

    def monitor_alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._lock:
            ids = list(self._runs)
        for run_id in ids:
            self.forget(run_id)
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
            run.stop_event.set()
            run.stop_asked = time.monotonic()

    def _start_queued(self) -> list[_Run]:
        """Take runs off the queue while there is room; the caller launches them outside the lock."""
        running = sum(1 for r in self._runs.values() if r.state == "running")
        ready = []
        while self._queue and running < self.max_concurrent:
            run = self._runs[self._queue.pop(0)]
            run.state, run.stop_event = "running", self._ctx.Event()
            ready.append(run)
            running += 1
        return ready

    def _launch(self, runs: list[_Run]) -> None:
        """Start the runs' worker processes. Not under the lock: the first start after a server
        starts waits for the forkserver's imports (seconds), and pages must not wait with it."""
        for run in runs:
            receiver, sender = self._ctx.Pipe(duplex=False)
            process = self._ctx.Process(
                target=_worker,
                args=(run.config, run.mnist_directory, sender, run.stop_event),
                name=f"bn-lab-run-{run.run_id}",
                daemon=True,
            )
            try:
                process.start()
            except Exception as err:  # noqa: BLE001 - e.g. no forkserver: the run fails, the page says so
                receiver.close()
                sender.close()
                with self._lock:
                    run.state, run.error, run.detail = "failed", "crash", repr(err)
                continue
            sender.close()  # the worker holds the only sending end: its exit closes the pipe
            with self._lock:
                run.process, run.conn = process, receiver
                # the time spent starting is nobody's absence
                run.started = run.last_seen = time.monotonic()

    def _ensure_monitor(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._monitor, name="bn-lab-runner", daemon=True)
            self._thread.start()

    def _receive(self, run: _Run, message: tuple) -> None:
        kind = message[0]
        if kind == "progress":
            run.done, run.total = message[1], message[2]
        elif kind == "data":
            run.n_inputs, run.image_shape = message[1], tuple(message[2])
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

    def _finish(self, run: _Run) -> multiprocessing.process.BaseProcess:
        """The worker's pipe has closed: the run is over. Returns the process, to collect outside the lock."""
        run.conn.close()
        process, run.conn, run.process = run.process, None, None
        if run.state == "running":  # ended without a last word
            run.state, run.error = "failed", "crash"
        return process

    @staticmethod
    def _collect(process: multiprocessing.process.BaseProcess) -> None:
        process.join(STOP_GRACE)
        if process.is_alive():
            process.kill()
            process.join()
        process.close()

    # --- the monitor thread ---------------------------------------------
    def _monitor(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                for run in list(self._runs.values()):
                    launching = run.state == "running" and run.process is None
                    if now - run.last_seen > self.heartbeat_timeout and not launching:  # nobody is watching
                        if run.state in ("finished", "failed") and run.process is None:
                            del self._runs[run.run_id]
                        else:
                            self._stop(run)
                    if run.stop_asked is not None and run.process is not None and now - run.stop_asked > STOP_GRACE:
                        run.process.terminate()
                ready = self._start_queued()
                if not self._runs:
                    self._thread = None
                    return
                conns = {run.conn: run for run in self._runs.values() if run.conn is not None}
            self._launch(ready)
            if not conns:
                time.sleep(0.1)
                continue
            for conn in wait(list(conns), timeout=0.1):
                # Read and unpickle outside the lock (only this thread reads the pipes):
                # every page's poll waits for the lock, so it is held for microseconds.
                messages, closed = [], False
                try:
                    while conn.poll():
                        messages.append(self._unpack(conn.recv()))
                except (EOFError, OSError):
                    closed = True
                run = conns[conn]
                with self._lock:
                    for message in messages:
                        self._receive(run, message)
                    process = self._finish(run) if closed else None
                if process is not None:
                    self._collect(process)
