"""The runner's owners (a run lives as long as its page's session), its limits (queue length, runs
per session) and the queue's estimated wait."""

import threading
import time

import pytest

from bn_core.train import TrainConfig
from serve.runner import LimitReached, Runner, env_limit, queue_wait
from tests.core.test_runner import LONG, wait_for

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


def test_queue_wait_is_unknown_when_it_depends_on_a_paused_run():
    assert queue_wait([None], slots=1, ahead=0, duration=20.0) is None
    assert queue_wait([None, 12.0], slots=2, ahead=0, duration=None) == 12.0  # the other slot frees first
    assert queue_wait([None, 12.0], slots=2, ahead=1, duration=None) is None  # unknown length of the run ahead


def test_an_owned_run_outlives_a_drop_of_its_owner_without_any_view(runner, owners):
    owners.alive.add("tab-1")
    run_id = runner.submit(LONG, speed=20, owner="tab-1")
    assert wait_for(lambda: runner.view(run_id).done > 0)
    time.sleep(2.5)  # no view for longer than the heartbeat (1 s): the owner's presence counts
    assert runner.view(run_id).state == "running"
    owners.alive.discard("tab-1")  # the connection drops
    time.sleep(3.0)  # shorter than owner_timeout (4 s)
    before = runner.view(run_id)
    owners.alive.add("tab-1")  # it comes back
    time.sleep(2.0)
    after = runner.view(run_id)
    assert before.state == after.state == "running" and after.done > before.done
    assert "bn-lab-runner" in owners.asked_from  # asked from the monitor thread, not a page's


def test_an_owned_run_ends_once_its_owner_is_really_gone(runner, owners):
    owners.alive.add("tab-2")
    run_id = runner.submit(LONG, speed=20, owner="tab-2")
    assert wait_for(lambda: runner.view(run_id).done > 0)
    owners.alive.discard("tab-2")
    gone = time.monotonic()
    # nobody views it now (a view would count as a heartbeat only for its owner's page)
    assert wait_for(lambda: runner.counts()["running"] == 0, timeout=20)
    assert 3.5 < time.monotonic() - gone < 10  # after owner_timeout, not before, and soon after
    assert wait_for(lambda: runner.counts() == {"queued": 0, "running": 0, "finished": 0, "failed": 0}, timeout=15)


def test_a_finished_run_waits_for_its_owner_to_come_back_to_the_page(runner, owners):
    owners.alive.add("tab-3")
    run_id = runner.submit(QUICK, owner="tab-3")
    assert wait_for(lambda: runner.counts()["finished"] == 1)  # without views
    time.sleep(2.0)  # longer than the heartbeat: the student is on another lesson
    view = runner.view(run_id)
    assert view is not None and view.state == "finished" and view.history is not None


def test_a_reloaded_page_adopts_its_runs_but_a_second_live_tab_cannot(runner, owners):
    owners.alive.update({"old", "other"})
    run_id = runner.submit(LONG, speed=20, owner="old")
    assert not runner.adopt(run_id, "other")  # "old" is still connected: not its to take
    owners.alive.discard("old")  # the reload closed the old page's connection
    assert runner.adopt(run_id, "new")
    owners.alive.add("new")
    time.sleep(5.0)  # longer than owner_timeout since "old" left
    assert runner.view(run_id).state == "running"
    assert not runner.adopt("no-such-run", "new")


def test_one_owner_may_have_a_pair_at_a_time(runner, owners):
    owners.alive.add("tab-4")
    first = runner.submit_many([LONG, LONG.twin()], owner="tab-4")
    with pytest.raises(LimitReached) as refused:
        runner.submit(QUICK, owner="tab-4")
    assert refused.value.reason == "session" and refused.value.limit == 2
    other = runner.submit(QUICK, owner="tab-5")  # another session still may (and queues)
    runner.forget(first[0]), runner.forget(first[1]), runner.forget(other)
    assert wait_for(lambda: runner.counts()["queued"] + runner.counts()["running"] == 0)
    runner.submit(QUICK, owner="tab-4")  # room again once its runs ended


def test_the_queue_refuses_runs_beyond_its_length_all_or_none(runner):
    running = runner.submit(LONG)  # one slot
    queued = runner.submit_many([LONG, LONG])  # the queue's two places
    assert [runner.view(i).state for i in (running, *queued)] == ["running", "queued", "queued"]
    with pytest.raises(LimitReached) as refused:
        runner.submit(LONG)
    assert refused.value.reason == "queue" and refused.value.limit == 2
    runner.stop(queued[1])
    with pytest.raises(LimitReached):
        runner.submit_many([LONG, LONG.twin()])  # one place left, two runs: neither is queued
    assert runner.counts()["queued"] == 1
    runner.submit(LONG)
    assert runner.counts()["queued"] == 2


def test_a_queued_run_shows_the_wait_its_place_implies(owners):
    # owned by a session that stays: the queued runs need no views while the test waits (a loaded
    # machine took longer than the 8 s heartbeat to train the first twelve steps)
    owners.alive.add("tab")
    runner = Runner(max_concurrent=1, idle_timeout=2.0, max_queue=4, max_per_owner=4, owner_alive=owners)
    try:
        ahead = runner.submit(TrainConfig(epochs=2), speed=20, owner="tab")  # about 20 steps a second
        second, third = (runner.submit(TrainConfig(epochs=2), owner="tab") for _ in "23")
        assert wait_for(lambda: runner.view(ahead).done >= 12)
        # the running run's speed, timed here on the wall clock
        start, done = time.monotonic(), runner.view(ahead).done
        time.sleep(2.0)
        views = {i: runner.view(i) for i in (ahead, second, third)}
        running = views[ahead]
        per_step = (time.monotonic() - start) / (running.done - done)
        assert running.wait_seconds is None and running.place is None
        # the first in the queue starts when the running run ends...
        assert views[second].wait_seconds == pytest.approx(running.seconds_left, rel=0.05)
        assert 0.6 < views[second].wait_seconds / ((running.total - running.done) * per_step) < 1.6
        # ...and the second after that, the run ahead taken to last as long as the running one in all
        whole = running.seconds_left / (running.total - running.done) * running.total
        assert views[third].wait_seconds == pytest.approx(running.seconds_left + whole, rel=0.05)
        runner.pace(ahead, speed=20, paused=True)
        assert wait_for(lambda: runner.view(second).wait_seconds is None)  # a paused run: no estimate
    finally:
        runner.shutdown()


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BN_LAB_MAX_QUEUE", "5")
    monkeypatch.setenv("BN_LAB_MAX_RUNS_PER_SESSION", "")
    runner = Runner(max_concurrent=1, start_method="spawn")
    assert (runner.max_queue, runner.max_per_owner) == (5, 2)  # an empty value: the default
    assert env_limit("BN_LAB_MAX_QUEUE", 16) == 5
    monkeypatch.setenv("BN_LAB_MAX_QUEUE", "lots")
    assert env_limit("BN_LAB_MAX_QUEUE", 16) == 16
    monkeypatch.setenv("BN_LAB_MAX_QUEUE", "0")
    assert env_limit("BN_LAB_MAX_QUEUE", 16) == 0  # no queue: runs beyond the slots are refused
