"""Computing runs for a whole class: worker processes (one per CPU) that train runs at full speed,
several side by side in each (``per_worker``), a bounded queue beyond that, limits per page session
and per client address, a cap on each run's steps and seconds, and a shared store of finished runs.

A run is a record. Its configuration determines it (every random draw is seeded by it), so a
run is computed once and shared: thirty students pressing Play on the teacher's preset make one
computation, each page plays the record back in the browser at its own pace (ui/player), and a
reload, a returning student or a second class replays the stored record without computing.

    runner = Runner(max_concurrent=2)
    [key] = runner.submit_many([TrainConfig(norm="batch")], owner=session, client=address)
    view = runner.view(key)    # what is computed so far (measures, steps), or the finished record
    runner.release(key, owner) # this page no longer wants it: a computation nobody wants stops

A run's id is its key, a digest of its configuration (``run_key``). A computing run lives while
one of the pages that asked for it (its watchers) is alive: the runner asks ``owner_alive(owner)``
(cheap, safe from any thread) and stops a run none of whose watchers has been alive for
``owner_timeout`` seconds. A finished run goes into the record store (LRU by bytes); a failed one
is kept for ``heartbeat_timeout`` seconds after its last view, so that its pages can say why.

Why processes: a small network's training loop is mostly Python, so training threads in the server
would hold the GIL that every page needs. Workers run at the lowest priority (nice 19) with one
torch thread each, so the pages stay responsive while runs compute. They are forked from a
forkserver that has already imported torch and trained once (a run starts in milliseconds), and a
worker with no run left waits a minute for the next one. Inside a worker each run has a thread of
its own (serve/worker.py): runs side by side share its core, so a run a student starts while the
class's other runs compute shows its first steps within a second instead of waiting its turn.

No Streamlit here: the app keeps one Runner for the whole server. The worker's side is serve/worker.py, their
messages serve/protocol.py, the record serve/records.py, the limits serve/limits.py. This module is longer than
the others: it is one class whose lock guards every change of the runs, the queue and the workers, read best in
one place.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerProcess

from bn_core.train import EpochRecord, History, Measure, TrainConfig, keep_measure, model_from
from serve.jobs import Job
from serve.limits import (
    DEFAULT_MAX_PER_CLIENT,
    DEFAULT_MAX_PER_OWNER,
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_SECONDS,
    DEFAULT_MAX_STEPS,
    DEFAULT_PER_WORKER,
    DEFAULT_RECORD_MB,
    MAX_RECORDS,
    MAX_SECONDS_ENV,
    MAX_STEPS_ENV,
    PER_CLIENT_ENV,
    PER_OWNER_ENV,
    PER_WORKER_ENV,
    QUEUE_ENV,
    RECORD_BYTES_ENV,
    LimitReached,
    default_concurrency,
    env_limit,
    queue_wait,
    remove_stale_pymp,
)
from serve.protocol import LAST, Computed, Data, Epoch, Failed, Measured, Progress, Report, Start, Stop, Trained
from serve.records import RunView, record_size, run_key
from serve.store import BoundedStore
from serve.worker import BarePopen, work

HEARTBEAT_TIMEOUT = 8.0  # seconds a failed run stays after its last view (and an unwatched one computes)
STOP_GRACE = 5.0  # seconds a worker gets to stop by itself before it is terminated
IDLE_TIMEOUT = 60.0  # seconds an idle worker waits for another run before it ends
ESTIMATE_AFTER = 10  # steps timed before a computing run gets a time estimate
# Imported once by the forkserver, so that a forked worker starts warm: torch's optimizers import
# torch._dynamo (1.7 s) on first use, the digits come through sklearn.datasets (1 s), and the warm-up
# trains once per optimizer. Not "__main__": under Streamlit that is whichever page script ran last,
# and a worker needs nothing from it (see BarePopen).
PRELOAD = ["serve.worker", "torch._dynamo", "sklearn.datasets", "serve.forkserver_warmup"]


@dataclass
class _Worker:
    """A worker process and its pipe (runs and stops go out, the runs' messages come back)."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    runs: set[str] = field(default_factory=set)  # the runs it computes, side by side; empty while idle
    idle_since: float = 0.0


@dataclass
class _Run:
    run_id: str
    config: TrainConfig | Job
    last_seen: float  # when it was last viewed
    mnist_directory: str | None = None
    creator: str | None = None  # the page session whose press started the computation (its limit)
    client: str | None = None  # that page's client address (its limit)
    watchers: dict[str, float] = field(default_factory=dict)  # page sessions that want it -> last seen alive
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
    step_seconds: float | None = None
    progress_at: float = 0.0  # when its last progress message arrived
    mark: tuple[float, int] | None = None  # (time, steps done) of its first progress
    result: object = None
    compute_seconds: float | None = None


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
        max_per_client: int | None = None,
        per_worker: int | None = None,
        max_seconds: float | None = None,
        max_steps: int | None = None,
        records: BoundedStore | None = None,
        owner_alive: Callable[[str], bool] | None = None,
        owner_timeout: float = HEARTBEAT_TIMEOUT,
    ):
        self.max_concurrent = max_concurrent or default_concurrency()
        self.max_queue = env_limit(QUEUE_ENV, DEFAULT_MAX_QUEUE) if max_queue is None else max_queue
        self.max_per_owner = env_limit(PER_OWNER_ENV, DEFAULT_MAX_PER_OWNER) if max_per_owner is None else max_per_owner
        self.max_per_client = (
            env_limit(PER_CLIENT_ENV, DEFAULT_MAX_PER_CLIENT) if max_per_client is None else max_per_client
        )
        self.per_worker = max(1, env_limit(PER_WORKER_ENV, DEFAULT_PER_WORKER) if per_worker is None else per_worker)
        self.max_seconds = env_limit(MAX_SECONDS_ENV, DEFAULT_MAX_SECONDS) if max_seconds is None else max_seconds
        self.max_steps = env_limit(MAX_STEPS_ENV, DEFAULT_MAX_STEPS) if max_steps is None else max_steps
        if records is None:
            megabytes = env_limit(RECORD_BYTES_ENV, DEFAULT_RECORD_MB)
            records = BoundedStore(record_size, max_items=MAX_RECORDS, max_bytes=megabytes * 2**20)
        self.records = records
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
        self._starting = 0  # workers being started outside the lock
        self._closing = False
        self._thread: threading.Thread | None = None
        self._leaving: threading.Thread | None = None  # a monitor that has decided to end

    # --- what pages call -------------------------------------------------
    def submit(
        self,
        config: TrainConfig | Job,
        mnist_directory: str | None = None,
        *,
        owner: str | None = None,
        client: str | None = None,
    ) -> str:
        """The key of the run for ``config``: stored already, computing already (this page joins
        it), or queued now. A ``Job`` runs a named experiment; its view's ``result`` holds what it
        returned. Raises ValueError for a configuration that cannot train, LimitReached past a limit."""
        return self.submit_many([config], mnist_directory, owner=owner, client=client)[0]

    def submit_many(
        self,
        configs: list[TrainConfig | Job],
        mnist_directory: str | None = None,
        *,
        owner: str | None = None,
        client: str | None = None,
    ) -> list[str]:
        """Several runs (a pair) together: all of them, or none if a limit refuses the new ones.
        Only a run that must be computed counts against a limit; joining one or replaying a
        record costs nothing."""
        for config in configs:
            problems = config.problems()
            if problems:
                raise ValueError(f"cannot train with this configuration: {', '.join(problems)}")
        keys = [run_key(config, mnist_directory) for config in configs]
        now = time.monotonic()
        with self._lock:
            fresh = [
                (key, config)
                for key, config in zip(keys, configs, strict=True)
                if key not in self.records and (key not in self._runs or self._runs[key].state == "failed")
            ]
            fresh = list(dict(fresh).items())  # a key twice in one press is one computation
            self._check_limits(len(fresh), owner, client)
            self._closing = False
            for key, config in fresh:
                self._runs[key] = _Run(
                    key, config, last_seen=now, mnist_directory=mnist_directory, creator=owner, client=client
                )
                self._queue.append(key)
            for key in keys:
                run = self._runs.get(key)
                if run is not None:
                    run.last_seen = now
                    if owner is not None:
                        run.watchers[owner] = now
            ready = self._start_queued()
            if fresh:
                self._ensure_monitor()
        self._launch(ready)
        return keys

    def view(self, run_id: str) -> RunView | None:
        """The run's record if it is stored, else a snapshot of its computation (None if unknown or
        forgotten). A view counts as a heartbeat."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                run.last_seen = time.monotonic()
                return self._snapshot(run)
        return self.records.get(run_id)

    def release(self, run_id: str, owner: str | None = None) -> None:
        """``owner`` (a page session; None: anyone) no longer wants the run. A computation that no
        page wants any more stops; another page that watches it keeps it going."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            if owner is None:
                run.watchers.clear()
            else:
                run.watchers.pop(owner, None)
            if not run.watchers:
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
            self.release(run_id)
        with self._lock:
            self._closing = True  # the monitor ends idle workers at once, and then itself
        deadline = time.monotonic() + timeout
        while self.monitor_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    # --- inside the lock ---------------------------------------------------
    def _check_limits(self, n: int, owner: str | None, client: str | None) -> None:
        if n == 0:
            return
        active = [r for r in self._runs.values() if r.state in ("queued", "running")]
        if owner is not None and sum(1 for r in active if r.creator == owner) + n > self.max_per_owner:
            raise LimitReached("session", self.max_per_owner)
        if client is not None and sum(1 for r in active if r.client == client) + n > self.max_per_client:
            raise LimitReached("client", self.max_per_client)
        running = sum(1 for r in active if r.state == "running")
        waiting = len(self._queue) + n - max(self.capacity - running, 0)
        if waiting > self.max_queue:
            raise LimitReached("queue", self.max_queue)

    def _alive(self, owner: str) -> bool:
        try:
            return self.owner_alive is not None and bool(self.owner_alive(owner))
        except Exception:  # noqa: BLE001 - a failing check must not end the monitor; the owner counts as absent
            return False

    def _wait(self, run: _Run) -> float | None:
        """A queued run's estimated wait, from the computing runs' measured times and its place.
        Each run ahead of it is taken to last as long as the computing runs do on average."""
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
        return queue_wait(remaining, self.capacity, self._queue.index(run.run_id), duration)

    @staticmethod
    def _per_step(run: _Run) -> float | None:
        """Seconds per step of a computing run: once it has computed ESTIMATE_AFTER steps, their
        average wall-clock time (measures and a loaded machine included); before that, not known
        (the first steps run cold)."""
        if run.mark is not None and run.done - run.mark[1] >= ESTIMATE_AFTER:
            return (run.progress_at - run.mark[0]) / (run.done - run.mark[1])
        return None

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
            place=place,
            epochs=list(run.epochs),
            done=run.done,
            total=run.total,
            seconds_left=left,
            history=run.history,
            error=run.error,
            detail=run.detail,
            image_shape=run.image_shape,
            measures=list(run.measures),
            step_seconds=run.step_seconds,
            wait_seconds=self._wait(run) if run.state == "queued" else None,
            result=run.result,
            compute_seconds=run.compute_seconds,
        )

    def _stop(self, run: _Run) -> None:
        if run.state == "queued":
            self._queue.remove(run.run_id)
            run.state, run.error = "failed", "stopped_in_queue"
        elif run.state == "running" and run.stop_asked is None:
            run.stop_asked = time.monotonic()
            if run.launched:  # otherwise _launch passes it on
                self._tell(self._worker_of(run), Stop(run.run_id))

    @staticmethod
    def _tell(worker: _Worker | None, message: Start | Stop) -> None:
        if worker is None:
            return
        try:
            worker.conn.send(message)
        except OSError:  # the worker is gone: the monitor reports its runs as failed
            pass

    def _worker_of(self, run: _Run) -> _Worker | None:
        return next((w for w in self._workers if run.run_id in w.runs), None)

    @property
    def capacity(self) -> int:
        """Runs computed at a time: ``per_worker`` side by side in each of ``max_concurrent`` workers."""
        return self.max_concurrent * self.per_worker

    def _start_queued(self) -> list[_Run]:
        """Take runs off the queue while there is room, each given to the worker with the fewest runs
        (None: a new worker, while there are fewer than ``max_concurrent``); the caller launches them
        outside the lock."""
        running = sum(1 for r in self._runs.values() if r.state == "running")
        ready = []
        while self._queue and running < self.capacity:
            run = self._runs[self._queue.pop(0)]
            run.state = "running"
            ready.append(run)
            running += 1
        return ready

    def _start_worker(self) -> _Worker:
        ours, theirs = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=work, args=(theirs,), name=f"bn-lab-worker-{os.urandom(3).hex()}", daemon=True
        )
        if isinstance(process, ForkServerProcess):
            process._Popen = BarePopen  # start() calls self._Popen(self): no main script in the child
        try:
            process.start()
        finally:
            theirs.close()  # the worker holds the only other end: its exit closes the pipe
        return _Worker(process, ours)

    def _place(self, run: _Run) -> _Worker | None:
        """The worker with the fewest runs, or None when another is to be started for it: while there are
        fewer than ``max_concurrent`` (counting those being started), runs spread over the cores first.
        Under the lock."""
        least = min(self._workers, key=lambda w: len(w.runs), default=None)
        if least is None or (least.runs and len(self._workers) + self._starting < self.max_concurrent):
            self._starting += 1
            return None
        least.runs.add(run.run_id)
        return least

    def _launch(self, runs: list[_Run]) -> None:
        """Hand the runs to workers, starting a worker where there is room for another. Not under the
        lock: the first start after a server starts waits for the forkserver's imports (seconds), and
        pages must not wait with it."""
        for run in runs:
            with self._lock:
                worker = self._place(run)
                starting = worker is None
            try:
                if starting:
                    worker = self._start_worker()
                    worker.runs.add(run.run_id)
                    with self._lock:
                        self._workers.append(worker)
                        self._starting -= 1
                        starting = False
                with self._lock:
                    worker.conn.send(
                        Start(run.run_id, run.config, run.mnist_directory, self.max_seconds, self.max_steps)
                    )
                    run.launched = True
                    run.started = run.last_seen = time.monotonic()  # the time spent starting is nobody's absence
                    if run.stop_asked is not None:  # stopped while it was being launched
                        self._tell(worker, Stop(run.run_id))
            except Exception as err:  # noqa: BLE001 - e.g. no forkserver: the run fails, the page says so
                with self._lock:
                    run.state, run.error, run.detail = "failed", "crash", repr(err)
                    if starting:
                        self._starting -= 1
                    if worker is not None:
                        worker.runs.discard(run.run_id)
                        worker.idle_since = time.monotonic()

    def _ensure_monitor(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._monitor, name="bn-lab-runner", daemon=True)
            self._thread.start()

    def _receive(self, run: _Run, report: Report) -> None:
        match report:
            case Progress(done=done, total=total, step_seconds=step_seconds):
                run.done, run.total, run.step_seconds = done, total, step_seconds
                run.progress_at = time.monotonic()
                if run.mark is None:
                    run.mark = (run.progress_at, run.done)
            case Measured(measure=measure):
                keep_measure(run.measures, measure)
            case Data(image_shape=shape):
                run.image_shape = tuple(shape)
            case Epoch(record=record):
                run.epochs.append(record)
            case Trained(history=history, seconds=seconds):  # its model was rebuilt by _unpack
                run.history, run.compute_seconds, run.state = history, seconds, "finished"
                run.measures = list(history.measures)
                run.done = history.measures[-1].step if history.measures else run.done
            case Computed(result=result, seconds=seconds):  # an experiment's
                run.result, run.compute_seconds, run.state = result, seconds, "finished"
            case Failed(reason=reason, detail=detail):
                run.state, run.error, run.detail = "failed", reason, detail

    @staticmethod
    def _unpack(report: Report) -> Report:
        """Work on a report that needs no lock: rebuilding a finished run's model takes milliseconds."""
        if isinstance(report, Trained) and report.weights is not None:
            report.history.model = model_from(report.history.config, report.n_inputs, report.weights)
            return replace(report, weights=None)
        return report

    def _store(self, finished: list[RunView]) -> None:
        """Finished runs into the record store (outside the lock: sizing one takes milliseconds); a
        run the store cannot hold stays with the runner until its pages stop viewing it."""
        for view in finished:
            if self.records.put(view.run_id, view):
                with self._lock:
                    run = self._runs.get(view.run_id)
                    if run is not None and run.state == "finished":
                        del self._runs[view.run_id]

    @staticmethod
    def _release(worker: _Worker, run_id: str, now: float) -> None:
        """One of the worker's runs has ended (a worker with no run left waits for the next)."""
        worker.runs.discard(run_id)
        worker.idle_since = now

    def _drop(self, worker: _Worker) -> None:
        """The worker's pipe has closed (it crashed, was terminated, or ended): out of the pool."""
        self._workers.remove(worker)
        for run_id in worker.runs:
            run = self._runs.get(run_id)
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
    def _wanted(self, run: _Run, now: float, present: set[str]) -> bool:
        """Whether a page still wants the run: a watcher alive lately, or a view lately."""
        for owner in run.watchers:
            if owner in present:
                run.watchers[owner] = now
        if any(now - seen <= self.owner_timeout for seen in run.watchers.values()):
            return True
        return now - run.last_seen <= self.heartbeat_timeout

    def _monitor(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                owners = {o for r in self._runs.values() for o in r.watchers}
                present = {o for o in owners if self._alive(o)}
                for run in list(self._runs.values()):
                    launching = run.state == "running" and not run.launched
                    if not launching and not self._wanted(run, now, present):
                        if run.state in ("finished", "failed"):  # its worker was released with its last word
                            del self._runs[run.run_id]
                        else:
                            self._stop(run)
                    worker = self._worker_of(run) if run.stop_asked is not None and run.launched else None
                    if worker is not None and now - run.stop_asked > STOP_GRACE and worker.runs == {run.run_id}:
                        worker.process.terminate()  # its pipe closes: _drop (a worker with other runs goes on)
                ready = self._start_queued()
                limit = 0.0 if self._closing else self.idle_timeout
                ending = [w for w in self._workers if not w.runs and now - w.idle_since >= limit]
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
        finished = []
        with self._lock:
            for report in messages:
                run = self._runs.get(report.run_id) if report.run_id in worker.runs else None
                if run is not None:
                    self._receive(run, report)
                    if run.state == "finished":
                        finished.append(self._snapshot(run))
                if isinstance(report, LAST):
                    self._release(worker, report.run_id, time.monotonic())
            if closed and worker in self._workers:
                self._drop(worker)
        self._store(finished)
        if closed:
            self._end(worker, ask=False)
