"""The runner: worker processes computing records at full speed, shared by configuration, the queue, release,
heartbeats, caps, failures, and no leaks."""

import os
import signal
import threading
import time

import pytest

from bn_core.train import TrainConfig
from serve.records import record_size, run_key
from serve.runner import Runner
from serve.store import BoundedStore
from tests.unit.test_data import fake_mnist


def long(seed: int) -> TrainConfig:
    """A run of its own that computes for about a minute (53 900 steps, cut by the step or seconds cap): long enough to
    interrupt. The same configuration twice is one computation, so each seed is another run."""
    return TrainConfig(epochs=100, hidden=512, batch_size=2, seed=seed)


LONG = long(0)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def runner():
    r = Runner(max_concurrent=2, per_worker=1, heartbeat_timeout=2.0, idle_timeout=2.0)  # a run per process
    yield r
    r.shutdown()


def test_a_run_streams_epochs_and_ends_with_a_model(runner):
    run_id = runner.submit(TrainConfig(epochs=5))
    seen = set()
    assert wait_for(lambda: seen.add(len(runner.view(run_id).epochs)) or not runner.view(run_id).active)
    view = runner.view(run_id)
    assert view.state == "finished" and view.error is None
    assert len(view.epochs) == 5 and len(seen) > 1  # epochs arrived while it ran, not only at the end
    assert view.done == view.total > 0 and view.image_shape == (8, 8)
    assert view.history.test_accuracy > 0.9 and view.history.model is not None
    assert view.compute_seconds > 0
    # a record now, no longer a computation (the monitor stores it a moment after the run's last word)
    assert wait_for(lambda: len(runner.records) == 1 and runner.counts()["finished"] == 0, timeout=10)
    assert runner.counts() == {"queued": 0, "running": 0, "finished": 0, "failed": 0}


def test_the_same_configuration_is_computed_once_and_its_record_replayed(runner):
    first = runner.submit_many([TrainConfig(epochs=3), TrainConfig(epochs=3).twin()], owner="a")
    again = runner.submit_many([TrainConfig(epochs=3), TrainConfig(epochs=3).twin()], owner="b")
    assert again == first and runner.counts()["running"] + runner.counts()["queued"] == 2  # joined, not queued
    assert wait_for(lambda: not any(runner.view(k).active for k in first))
    assert wait_for(lambda: len(runner.records) == 2, timeout=10)  # stored a moment after their last word
    records = [runner.view(k) for k in first]
    assert [v.state for v in records] == ["finished", "finished"]
    workers = runner.workers_alive()
    later = runner.submit_many([TrainConfig(epochs=3), TrainConfig(epochs=3).twin()], owner="c")
    assert [runner.view(k) for k in later] == records  # the stored records themselves, at once
    assert runner.counts()["running"] == 0 and runner.workers_alive() == workers  # nothing computed
    assert run_key(TrainConfig(epochs=3)) != run_key(TrainConfig(epochs=3, seed=1))


def test_a_run_is_cut_at_the_step_cap_and_kept_as_a_record_that_says_so():
    runner = Runner(max_concurrent=1, idle_timeout=1.0, max_steps=25)
    try:
        run_id = runner.submit(TrainConfig(epochs=5))
        assert wait_for(lambda: not runner.view(run_id).active)
        view = runner.view(run_id)
        assert view.state == "finished" and view.history.stopped == "cap"
        assert view.history.measures[-1].step == 25 and len(view.history.epochs) == 0
    finally:
        runner.shutdown()


def test_a_run_is_cut_at_the_seconds_cap():
    runner = Runner(max_concurrent=1, idle_timeout=1.0, max_seconds=1)
    try:
        run_id = runner.submit(LONG)
        assert wait_for(lambda: not runner.view(run_id).active)
        view = runner.view(run_id)
        assert view.state == "finished" and view.history.stopped == "cap"
        assert 0 < view.history.measures[-1].step < view.total
    finally:
        runner.shutdown()


def test_a_record_larger_than_the_store_is_served_while_viewed_then_dropped():
    store = BoundedStore(record_size, max_items=10, max_bytes=1_000)  # smaller than any record
    runner = Runner(max_concurrent=1, heartbeat_timeout=1.0, idle_timeout=1.0, records=store)
    try:
        run_id = runner.submit(TrainConfig(epochs=1, hidden=16))
        assert wait_for(lambda: not runner.view(run_id).active)
        assert runner.view(run_id).state == "finished" and len(store) == 0 and store.bytes == 0
        assert wait_for(lambda: runner.counts()["finished"] == 0, timeout=10)  # unviewed past the heartbeat
        assert runner.view(run_id) is None
    finally:
        runner.shutdown()


class SlowStart:
    """A multiprocessing context whose processes take 3 s to start, as on a cold forkserver (longer than the
    runner's heartbeat, 2 s: the time is what the test is about). ``started`` is set once a start has ended."""

    def __init__(self, ctx):
        self._ctx = ctx
        self.started = threading.Event()

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def Process(self, *args, **kwargs):  # noqa: N802 - the context's own name
        return SlowProcess(self._ctx.Process(*args, **kwargs), self.started)


class SlowProcess:
    def __init__(self, process, started, fails=False):
        self._process = process
        self._started = started
        self._fails = fails

    def __getattr__(self, name):
        return getattr(self._process, name)

    def start(self):
        time.sleep(3.0)
        self._started.set()
        if self._fails:
            raise OSError("no forkserver")
        self._process.start()


class FailingStart(SlowStart):
    def Process(self, *args, **kwargs):  # noqa: N802
        return SlowProcess(self._ctx.Process(*args, **kwargs), self.started, fails=True)


def test_a_slow_process_start_neither_blocks_views_nor_counts_as_abandonment(runner):
    # CI once saw a run "finished" with no epochs: the forkserver's first start took longer than
    # the heartbeat, the runner's lock was held all along, and the monitor took the run for abandoned.
    runner._ctx = slow = SlowStart(runner._ctx)
    submitted = threading.Event()
    ids = []
    threading.Thread(target=lambda: (ids.append(runner.submit(TrainConfig(epochs=3))), submitted.set())).start()
    assert wait_for(lambda: bool(runner._runs), timeout=2)
    assert runner.counts()["running"] == 1
    assert not slow.started.is_set()  # answered while the process is still starting, not after (the lock is free)
    assert submitted.wait(10)
    assert wait_for(lambda: not runner.view(ids[0]).active)
    view = runner.view(ids[0])
    assert view.state == "finished" and view.history.stopped is None and len(view.epochs) == 3


def test_a_process_that_cannot_start_is_a_failed_run_not_a_stuck_one(runner):
    runner._ctx = FailingStart(runner._ctx)
    run_id = runner.submit(TrainConfig(epochs=1))
    view = runner.view(run_id)
    assert view.state == "failed" and view.error == "crash" and "no forkserver" in view.detail
    assert runner.counts()["running"] == 0


def test_runs_beyond_the_limit_wait_in_a_queue(runner):
    ids = [runner.submit(long(seed), owner=f"page-{seed}") for seed in range(4)]
    views = [runner.view(i) for i in ids]
    assert [v.state for v in views] == ["running", "running", "queued", "queued"]
    assert [v.place for v in views[2:]] == [1, 2]
    runner.release(ids[0], "page-0")
    assert wait_for(lambda: runner.view(ids[2]).state == "running")
    assert runner.view(ids[3]).place == 1
    runner.release(ids[3], "page-3")  # nobody wants it: it leaves the queue at once
    assert runner.view(ids[3]) is None  # and is forgotten


def test_release_ends_a_computation_nobody_wants_within_seconds_and_keeps_no_record(runner):
    run_id = runner.submit(LONG, owner="a")
    runner.submit(LONG, owner="b")  # a second page joins the same computation
    assert wait_for(lambda: runner.view(run_id).done > 0)
    runner.release(run_id, "a")
    time.sleep(0.5)  # not a pause: the time in which a wrong stop would show (a release stops a run in 0.06 s)
    assert runner.view(run_id).state == "running"  # "b" still wants it
    runner.release(run_id, "b")
    assert wait_for(lambda: runner.counts()["running"] == 0, timeout=10)  # how soon: benchmarks/runner_latency.py
    assert wait_for(lambda: runner.counts()["failed"] == 0, timeout=10)  # forgotten once nobody looks
    assert runner.view(run_id) is None and len(runner.records) == 0


def test_a_stopped_run_whose_worker_is_ended_reads_as_stopped_not_crashed(runner):
    # On a busy machine the worker may not finish its last measures within STOP_GRACE and is terminated:
    # the page must say the run was stopped (as asked), not that it crashed. Frozen here, then killed.
    run_id = runner.submit(LONG, owner="a")
    assert wait_for(lambda: runner.view(run_id).done > 0)
    with runner._lock:
        worker = runner._worker_of(runner._runs[run_id])
        runner._stop(runner._runs[run_id])  # as release does, without forgetting the run
    os.kill(worker.process.pid, signal.SIGSTOP)
    os.kill(worker.process.pid, signal.SIGKILL)
    assert wait_for(lambda: not runner.view(run_id).active, timeout=10)
    view = runner.view(run_id)
    assert view.state == "failed" and view.error == "stopped"


def test_a_run_nobody_watches_is_stopped_and_dropped(runner):
    run_id = runner.submit(LONG)
    assert wait_for(lambda: runner.view(run_id).done > 0)
    # no more views: the heartbeat runs out after 2 s
    assert wait_for(lambda: runner.counts() == {"queued": 0, "running": 0, "finished": 0, "failed": 0}, timeout=15)
    assert runner.view(run_id) is None
    assert wait_for(lambda: runner.workers_alive() == 0, timeout=10)  # and its idle worker ends after 2 s


def test_a_worker_trains_one_run_after_another_and_ends_when_idle(runner):
    first = runner.submit(TrainConfig(epochs=2))
    assert wait_for(lambda: not runner.view(first).active)
    pids = [w.process.pid for w in runner._workers]
    second = runner.submit(TrainConfig(epochs=2, seed=1))
    assert wait_for(lambda: not runner.view(second).active)
    assert [w.process.pid for w in runner._workers] == pids and len(pids) == 1  # the same warm worker
    assert runner.view(second).state == "finished" and len(runner.view(second).epochs) == 2
    assert wait_for(lambda: runner.workers_alive() == 0 and not runner.monitor_alive(), timeout=10)


def test_a_stopped_run_leaves_its_worker_ready_for_the_next(runner):
    run_id = runner.submit(LONG, owner="a")
    assert wait_for(lambda: runner.view(run_id).done > 0)
    runner.release(run_id, "a")
    assert wait_for(lambda: runner.counts()["running"] == 0)
    after = runner.submit(TrainConfig(epochs=3))  # must not see the earlier stop
    assert wait_for(lambda: not runner.view(after).active)
    view = runner.view(after)
    assert view.state == "finished" and view.history.stopped is None and len(view.epochs) == 3


def test_missing_mnist_is_a_failed_run_with_a_reason(runner, tmp_path):
    run_id = runner.submit(TrainConfig(dataset="mnist", epochs=1), mnist_directory=str(tmp_path))
    assert wait_for(lambda: not runner.view(run_id).active)
    assert runner.view(run_id).error == "missing"
    fake_mnist(tmp_path, n_train=200, n_test=50, size=28)
    run_id = runner.submit(TrainConfig(dataset="mnist", epochs=2), mnist_directory=str(tmp_path))
    assert wait_for(lambda: not runner.view(run_id).active)
    view = runner.view(run_id)
    assert view.state == "finished" and view.image_shape == (28, 28) and len(view.epochs) == 2


def test_a_configuration_that_cannot_train_is_refused(runner):
    with pytest.raises(ValueError, match="batch_of_one"):
        runner.submit(TrainConfig(batch_size=1))


def test_fifty_sessions_come_and_go_without_leaks():
    import multiprocessing

    children_before = set(multiprocessing.active_children())  # other tests' runners may still have idle workers
    runner = Runner(max_concurrent=2, heartbeat_timeout=1.0, idle_timeout=1.0, max_queue=50)  # leaks, not limits
    threads_before = threading.active_count()
    for i in range(50):  # each session starts a run, looks once, and leaves
        run_id = runner.submit(TrainConfig(epochs=2, seed=i, hidden=16))
        runner.view(run_id)
        if i % 10 == 9:
            assert runner.workers_alive() <= 2
    assert wait_for(lambda: not runner.monitor_alive(), timeout=60)
    assert runner.counts() == {"queued": 0, "running": 0, "finished": 0, "failed": 0}
    assert runner.workers_alive() == 0
    ours = set(multiprocessing.active_children()) - children_before
    assert [p for p in ours if p.name.startswith("bn-lab-worker")] == []
    assert threading.active_count() <= threads_before


SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from serve.runner import Runner
from bn_core.train import TrainConfig

if __name__ == "__main__":
    runner = Runner(max_concurrent=1)
    run_id = runner.submit(TrainConfig(epochs=50, hidden=512, batch_size=8))
    while runner.view(run_id).done == 0:
        time.sleep(0.05)
    print(runner._workers[0].process.pid, flush=True)
    time.sleep(60)
"""


def test_workers_end_when_the_server_is_killed(tmp_path):
    # Workers run in sessions of their own (for the scheduler), so no signal to the server's
    # process group reaches them: they must notice the server is gone by themselves.
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "server.py"
    script.write_text(SERVER.format(root=str(Path(__file__).resolve().parents[2])))
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(server.stdout.readline())
    assert os.getpgid(worker) != os.getpgid(server.pid)
    server.send_signal(signal.SIGKILL)
    server.wait()

    def gone():
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{worker}/stat") as stat:
            return stat.read().split()[2] == "Z"  # a zombie has ended; init reaps it

    assert wait_for(gone, timeout=10)


MAIN = """
import os, sys, time
sys.path.insert(0, {root!r})
with open({mark!r}, "a") as mark:
    mark.write(__name__ + "\\n")  # every run of this script, under any name
from serve.runner import Runner
from bn_core.train import TrainConfig

if __name__ == "__main__":
    runner = Runner(max_concurrent=1)
    run_id = runner.submit(TrainConfig(epochs=1))
    while runner.view(run_id).active:
        time.sleep(0.05)
    print(runner.view(run_id).state, flush=True)
    runner.shutdown()
"""


def test_workers_do_not_run_the_main_script(tmp_path):
    # Under Streamlit the main module is a page script: a worker that ran it ran the app in bare mode.
    import subprocess
    import sys
    from pathlib import Path

    mark = tmp_path / "runs.txt"
    script = tmp_path / "main.py"
    script.write_text(MAIN.format(root=str(Path(__file__).resolve().parents[2]), mark=str(mark)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "finished", done.stderr
    assert mark.read_text().split() == ["__main__"]  # the server only: no "__mp_main__" in the forkserver or a worker


def test_runs_compute_side_by_side_in_a_worker_and_a_new_one_shows_its_first_steps_at_once():
    runner = Runner(max_concurrent=2, per_worker=3, heartbeat_timeout=30.0, idle_timeout=1.0)
    try:
        long_ones = [runner.submit(long(seed)) for seed in range(4)]
        assert wait_for(lambda: all(runner.view(k).done > 0 for k in long_ones), timeout=60)
        assert runner.workers_alive() == 2  # spread over the cores first, then side by side
        assert sorted(len(w.runs) for w in runner._workers) == [2, 2]
        late = runner.submit(TrainConfig(epochs=2, hidden=16))  # a student pressing Play later
        assert runner.view(late).state == "running"  # no queue: there is room beside the others
        assert wait_for(lambda: len(runner.view(late).measures) > 0, timeout=30)
        assert all(runner.view(k).state == "running" for k in long_ones)  # it did not wait for them
        assert wait_for(lambda: not runner.view(late).active, timeout=60)
        assert runner.view(late).state == "finished" and runner.view(late).history.test_accuracy > 0.5
        queued = [runner.submit(long(seed)) for seed in (10, 11, 12)]  # 6 places in all: the seventh run waits
        assert [runner.view(k).state for k in queued] == ["running", "running", "queued"]
    finally:
        runner.shutdown()


def test_a_run_computed_beside_others_gives_the_same_numbers_as_alone(runner):
    config = TrainConfig(epochs=2, hidden=16, seed=5)
    shared = Runner(max_concurrent=1, per_worker=4, idle_timeout=1.0)
    try:
        keys = [shared.submit(TrainConfig(epochs=2, hidden=16, seed=s)) for s in (5, 6, 7)]
        assert wait_for(lambda: not any(shared.view(k).active for k in keys), timeout=120)
        beside = shared.view(keys[0]).history
    finally:
        shared.shutdown()
    alone = runner.view(runner.submit(config))
    assert wait_for(lambda: not runner.view(alone.run_id).active, timeout=120)
    alone = runner.view(alone.run_id).history
    assert [m.test_accuracy for m in beside.measures] == [m.test_accuracy for m in alone.measures]
    assert [e.train_loss for e in beside.epochs] == [e.train_loss for e in alone.epochs]  # the same bits
