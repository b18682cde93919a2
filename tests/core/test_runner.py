"""The runner: worker processes, the queue, stop, heartbeats, failures, and no leaks."""

import os
import signal
import threading
import time

import pytest

from bn_core.train import TrainConfig
from serve.runner import Runner
from tests.core.test_data import fake_mnist

LONG = TrainConfig(epochs=50, hidden=512, batch_size=8)  # about 10 s of training: long enough to interrupt


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def runner():
    r = Runner(max_concurrent=2, heartbeat_timeout=2.0, idle_timeout=2.0)
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


class SlowStart:
    """A multiprocessing context whose processes take 3 s to start, as on a cold forkserver."""

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def Process(self, *args, **kwargs):  # noqa: N802 - the context's own name
        return SlowProcess(self._ctx.Process(*args, **kwargs))


class SlowProcess:
    def __init__(self, process, fails=False):
        self._process = process
        self._fails = fails

    def __getattr__(self, name):
        return getattr(self._process, name)

    def start(self):
        time.sleep(3.0)
        if self._fails:
            raise OSError("no forkserver")
        self._process.start()


class FailingStart(SlowStart):
    def Process(self, *args, **kwargs):  # noqa: N802
        return SlowProcess(self._ctx.Process(*args, **kwargs), fails=True)


def test_a_slow_process_start_neither_blocks_views_nor_counts_as_abandonment(runner):
    # CI once saw a run "finished" with no epochs: the forkserver's first start took longer than
    # the heartbeat, the runner's lock was held all along, and the monitor took the run for abandoned.
    runner._ctx = SlowStart(runner._ctx)
    submitted = threading.Event()
    ids = []
    threading.Thread(target=lambda: (ids.append(runner.submit(TrainConfig(epochs=3))), submitted.set())).start()
    assert wait_for(lambda: bool(runner._runs), timeout=2)
    asked = time.monotonic()
    assert runner.counts()["running"] == 1  # answered while the process is still starting
    assert time.monotonic() - asked < 0.5
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
    ids = [runner.submit(LONG) for _ in range(4)]
    views = [runner.view(i) for i in ids]
    assert [v.state for v in views] == ["running", "running", "queued", "queued"]
    assert [v.place for v in views[2:]] == [1, 2]
    runner.stop(ids[0])
    assert wait_for(lambda: runner.view(ids[2]).state == "running")
    assert runner.view(ids[3]).place == 1
    runner.stop(ids[3])  # leaves the queue at once
    assert runner.view(ids[3]).state == "failed" and runner.view(ids[3]).error == "stopped_in_queue"


def test_stop_ends_a_run_within_seconds(runner):
    run_id = runner.submit(LONG)
    assert wait_for(lambda: runner.view(run_id).done > 0)
    asked = time.monotonic()
    runner.stop(run_id)
    assert wait_for(lambda: not runner.view(run_id).active, timeout=10)
    assert time.monotonic() - asked < 3
    view = runner.view(run_id)
    assert view.state == "finished" and view.history.stopped == "user"


def test_a_stopped_run_whose_worker_is_ended_reads_as_stopped_not_crashed(runner):
    # On a busy machine the worker may not finish its last measures within STOP_GRACE and is terminated:
    # the page must say the run was stopped (as asked), not that it crashed. Frozen here, then killed.
    run_id = runner.submit(LONG)
    assert wait_for(lambda: runner.view(run_id).done > 0)
    with runner._lock:
        worker = runner._worker_of(runner._runs[run_id])
    os.kill(worker.process.pid, signal.SIGSTOP)
    runner.stop(run_id)
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
    runner.forget(first), runner.forget(second)
    assert wait_for(lambda: runner.workers_alive() == 0 and not runner.monitor_alive(), timeout=10)


def test_a_stopped_run_leaves_its_worker_ready_for_the_next(runner):
    run_id = runner.submit(LONG)
    assert wait_for(lambda: runner.view(run_id).done > 0)
    runner.stop(run_id)
    assert wait_for(lambda: not runner.view(run_id).active)
    after = runner.submit(TrainConfig(epochs=3))  # must not see the earlier stop
    assert wait_for(lambda: not runner.view(after).active)
    view = runner.view(after)
    assert view.state == "finished" and view.history.stopped is None and len(view.epochs) == 3


def cpu_seconds(pid: int) -> float:
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def watch(runner, run_id, seconds):
    """Look at a run for ``seconds`` (a page polling it: the heartbeat stays fresh)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        runner.view(run_id)
        time.sleep(0.25)


def test_a_paused_run_waits_without_cpu_steps_one_batch_at_a_time_and_plays_on(runner):
    run_id = runner.submit(TrainConfig(epochs=2), paused=True, steps=1)  # Step pressed before any run
    assert wait_for(lambda: len(runner.view(run_id).measures) == 2)  # step 1 trained and measured
    view = runner.view(run_id)
    assert view.paused and view.seconds_left is None and [m.step for m in view.measures] == [0, 1]
    assert view.done == 1
    pid = runner._workers[0].process.pid
    watch(runner, run_id, 0.5)
    before, cpu = time.monotonic(), cpu_seconds(pid)
    watch(runner, run_id, 3.0)
    used = (cpu_seconds(pid) - cpu) / (time.monotonic() - before)
    assert runner.view(run_id).done == 1 and used < 0.01  # below 1 % of a core
    runner.step(run_id)
    runner.step(run_id)
    assert wait_for(lambda: len(runner.view(run_id).measures) == 4)
    assert [m.step for m in runner.view(run_id).measures] == [0, 1, 2, 3]  # paused: every step measured
    assert runner.view(run_id).done == 3
    runner.pace(run_id, speed=None, paused=False)
    assert wait_for(lambda: not runner.view(run_id).active, timeout=120)
    view = runner.view(run_id)
    assert view.state == "finished" and view.done == view.total and len(view.history.epochs) == 2


def test_a_paced_run_keeps_its_pace_and_its_estimate_follows_it(runner):
    run_id = runner.submit(TrainConfig(epochs=2), speed=20)
    assert wait_for(lambda: runner.view(run_id).done >= 2)
    start, done = time.monotonic(), runner.view(run_id).done
    watch(runner, run_id, 2.0)
    view = runner.view(run_id)
    rate = (view.done - done) / (time.monotonic() - start)
    assert 0 < rate <= 22  # never faster than asked (slower only if the machine cannot keep up)
    assert view.seconds_left >= (view.total - view.done) / 20 * 0.99  # the pace, not the last steps' speed
    runner.pace(run_id, speed=None, paused=False)
    assert wait_for(lambda: not runner.view(run_id).active, timeout=120)  # a loaded machine starves nice 19
    assert runner.view(run_id).history.stopped is None


def test_a_paused_run_can_be_stopped(runner):
    run_id = runner.submit(TrainConfig(epochs=2), paused=True)
    assert wait_for(lambda: runner.view(run_id).total > 0 or runner.view(run_id).measures)
    runner.stop(run_id)
    assert wait_for(lambda: not runner.view(run_id).active, timeout=10)
    view = runner.view(run_id)
    assert view.state == "finished" and view.history.stopped == "user" and view.done == 0


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
