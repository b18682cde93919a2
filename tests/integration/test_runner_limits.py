"""The runner's watchers (a computation lives as long as a page that asked for it), its limits (queue length,
new computations per session and per client address) and the queue's estimated wait.

The pauses here are not waits for something to happen: time passing is what these tests are about (a page gone
for less, or more, than the runner's timeouts), so each pause is set against the timeout it straddles."""

import threading
import time

import pytest

from bn_core.train import TrainConfig
from serve.limits import LimitReached, env_limit, queue_wait
from serve.runner import Runner
from tests.integration.test_runner import LONG, long, wait_for

QUICK = TrainConfig(epochs=1, hidden=16)


class Owners:
    """Which owners are alive, switched by the test (a page's session connecting and dropping)."""

    def __init__(self):
        self.alive: set[str] = set()
        self.asked_from: set[str] = set()  # the threads that asked

    def __call__(self, owner: str) -> bool:
        self.asked_from.add(threading.current_thread().name)
        return owner in self.alive


@pytest.fixture
def owners():
    return Owners()


@pytest.fixture
def runner(owners):
    r = Runner(
        max_concurrent=1,
        per_worker=1,  # one run at a time: the queue is what these tests look at
        heartbeat_timeout=1.0,
        idle_timeout=2.0,
        max_queue=2,
        max_per_owner=2,
        owner_alive=owners,
        owner_timeout=4.0,
    )
    yield r
    r.shutdown()


def test_queue_wait_fills_the_slot_that_frees_first():
    # two slots ending in 10 s and 30 s; runs ahead take 20 s each
    assert queue_wait([10.0, 30.0], slots=2, ahead=0, duration=20.0) == 10.0
    assert queue_wait([10.0, 30.0], slots=2, ahead=1, duration=20.0) == 30.0  # 10 + 20 = 30, or the other: 30
    assert queue_wait([10.0, 30.0], slots=2, ahead=2, duration=20.0) == 30.0  # first slot again at 30
    assert queue_wait([10.0, 30.0], slots=2, ahead=3, duration=20.0) == 50.0
    assert queue_wait([], slots=2, ahead=0, duration=None) == 0.0  # a free slot: no wait
    assert queue_wait([5.0], slots=1, ahead=2, duration=7.0) == 19.0


def test_queue_wait_is_unknown_while_a_running_run_has_no_estimate_yet():
    assert queue_wait([None], slots=1, ahead=0, duration=20.0) is None
    assert queue_wait([None, 12.0], slots=2, ahead=0, duration=None) == 12.0  # the other slot frees first
    assert queue_wait([None, 12.0], slots=2, ahead=1, duration=None) is None  # unknown length of the run ahead


def test_a_watched_run_outlives_a_drop_of_its_page_without_any_view(runner, owners):
    owners.alive.add("tab-1")
    run_id = runner.submit(LONG, owner="tab-1")
    assert wait_for(lambda: runner.view(run_id).done > 0)
    time.sleep(2.5)  # no view for longer than the heartbeat (1 s): the page's presence counts
    assert runner.view(run_id).state == "running"
    owners.alive.discard("tab-1")  # the connection drops
    time.sleep(3.0)  # shorter than owner_timeout (4 s)
    before = runner.view(run_id)
    owners.alive.add("tab-1")  # it comes back
    time.sleep(2.0)  # now past owner_timeout since the drop: its return counted
    after = runner.view(run_id)
    assert before.state == after.state == "running" and after.done > before.done
    assert "bn-lab-runner" in owners.asked_from  # asked from the monitor thread, not a page's


def test_a_run_ends_once_every_page_that_wanted_it_is_really_gone(runner, owners):
    owners.alive.update({"tab-2", "tab-3"})
    run_id = runner.submit(LONG, owner="tab-2")
    runner.submit(LONG, owner="tab-3")
    assert wait_for(lambda: runner.view(run_id).done > 0)
    owners.alive.discard("tab-2")
    time.sleep(5.0)  # past owner_timeout for tab-2: tab-3 still wants it
    assert runner.counts()["running"] == 1
    owners.alive.discard("tab-3")
    gone = time.monotonic()
    assert wait_for(lambda: runner.counts()["running"] == 0, timeout=20)
    assert time.monotonic() - gone > 3.5  # after owner_timeout (4 s), not before (how soon: benchmarks/runner_latency)
    assert wait_for(lambda: runner.counts() == {"queued": 0, "running": 0, "finished": 0, "failed": 0}, timeout=15)


def test_a_finished_run_is_a_record_anyone_can_replay_later(runner, owners):
    owners.alive.add("tab-3")
    run_id = runner.submit(QUICK, owner="tab-3")
    assert wait_for(lambda: len(runner.records) == 1)  # without views
    time.sleep(2.0)  # longer than the heartbeat: the student is on another lesson
    view = runner.view(run_id)
    assert view is not None and view.state == "finished" and view.history is not None
    assert runner.submit(QUICK, owner="someone else") == run_id


def test_one_session_may_start_a_pair_at_a_time_and_joining_costs_nothing(runner, owners):
    owners.alive.add("tab-4")
    first = runner.submit_many([LONG, LONG.twin()], owner="tab-4")
    with pytest.raises(LimitReached) as refused:
        runner.submit(QUICK, owner="tab-4")
    assert refused.value.reason == "session" and refused.value.limit == 2
    assert runner.submit_many([LONG, LONG.twin()], owner="tab-5") == first  # joining: no limit touched
    other = runner.submit(QUICK, owner="tab-5")  # another session still may start one (and queues)
    runner.release(first[0]), runner.release(first[1]), runner.release(other)
    assert wait_for(lambda: runner.counts()["queued"] + runner.counts()["running"] == 0)
    runner.submit(QUICK, owner="tab-4")  # room again once its runs ended


def test_one_client_address_cannot_fill_the_server_from_many_sessions(owners):
    runner = Runner(max_concurrent=1, per_worker=1, idle_timeout=1.0, max_queue=10, max_per_owner=2, max_per_client=3)
    try:
        runner.submit_many([long(0), long(1)], owner="s1", client="10.0.0.7")
        runner.submit(long(2), owner="s2", client="10.0.0.7")
        with pytest.raises(LimitReached) as refused:
            runner.submit(long(3), owner="s3", client="10.0.0.7")  # a fresh session, the same address
        assert refused.value.reason == "client" and refused.value.limit == 3
        runner.submit(long(3), owner="s4", client="10.0.0.8")  # another student is not held up
        assert runner.submit(long(0), owner="s5", client="10.0.0.7")  # joining one computing already: free
    finally:
        runner.shutdown()


def test_the_queue_refuses_runs_beyond_its_length_all_or_none(runner):
    running = runner.submit(long(0), owner="p")  # one slot
    queued = runner.submit_many([long(1), long(2)], owner="q")  # the queue's two places
    assert [runner.view(i).state for i in (running, *queued)] == ["running", "queued", "queued"]
    with pytest.raises(LimitReached) as refused:
        runner.submit(long(3), owner="r")
    assert refused.value.reason == "queue" and refused.value.limit == 2
    runner.release(queued[1])
    with pytest.raises(LimitReached):
        runner.submit_many([long(4), long(5)], owner="s")  # one place left, two runs: neither is queued
    assert runner.counts()["queued"] == 1
    runner.submit(long(4), owner="s")
    assert runner.counts()["queued"] == 2


def test_a_queued_run_shows_the_wait_its_place_implies(owners):
    # watched by a session that stays: the queued runs need no views while the test waits
    owners.alive.add("tab")
    runner = Runner(max_concurrent=1, per_worker=1, idle_timeout=2.0, max_queue=4, max_per_owner=4, owner_alive=owners)
    try:
        ahead = runner.submit(long(0), owner="tab")
        second, third = (runner.submit(long(seed), owner="tab") for seed in (1, 2))
        assert wait_for(lambda: runner.view(ahead).done >= 12)
        start, done = time.monotonic(), runner.view(ahead).done
        time.sleep(2.0)  # the window its pace is timed over
        views = {i: runner.view(i) for i in (ahead, second, third)}
        running = views[ahead]
        per_step = (time.monotonic() - start) / (running.done - done)  # its speed, timed here on the wall clock
        assert running.wait_seconds is None and running.place is None
        # the first in the queue starts when the running run ends...
        assert views[second].wait_seconds == pytest.approx(running.seconds_left, rel=0.05)
        # the estimate has the pace's order of magnitude (a loaded machine changes the pace between the two measures)
        assert 0.2 < views[second].wait_seconds / ((running.total - running.done) * per_step) < 5.0
        # ...and the second after that, the run ahead taken to last as long as the running one in all
        whole = running.seconds_left / (running.total - running.done) * running.total
        assert views[third].wait_seconds == pytest.approx(running.seconds_left + whole, rel=0.05)
    finally:
        runner.shutdown()


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BN_LAB_MAX_QUEUE", "5")
    monkeypatch.setenv("BN_LAB_MAX_RUNS_PER_SESSION", "")
    monkeypatch.setenv("BN_LAB_MAX_RUNS_PER_CLIENT", "9")
    monkeypatch.setenv("BN_LAB_MAX_RUN_SECONDS", "30")
    monkeypatch.setenv("BN_LAB_MAX_RUN_STEPS", "1000")
    monkeypatch.setenv("BN_LAB_RECORD_MB", "3")
    runner = Runner(max_concurrent=1, start_method="spawn")
    assert (runner.max_queue, runner.max_per_owner) == (5, 2)  # an empty value: the default
    assert (runner.max_per_client, runner.max_seconds, runner.max_steps) == (9, 30, 1000)
    assert runner.records.max_bytes == 3 * 2**20
    assert env_limit("BN_LAB_MAX_QUEUE", 16) == 5
    monkeypatch.setenv("BN_LAB_MAX_QUEUE", "lots")
    assert env_limit("BN_LAB_MAX_QUEUE", 16) == 16
    monkeypatch.setenv("BN_LAB_MAX_QUEUE", "0")
    assert env_limit("BN_LAB_MAX_QUEUE", 16) == 0  # no queue: runs beyond the slots are refused
