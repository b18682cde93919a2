"""An experiment (serve.jobs) computed in a worker process: the same numbers as here, and a stop."""

import time

import numpy as np
import pytest

from bn_core import experiments as ex
from bn_core.data import load
from serve import jobs
from serve.runner import Runner

DATA = load("digits")


def test_a_job_runs_in_a_worker_and_can_be_stopped():
    runner = Runner(max_concurrent=1, heartbeat_timeout=5.0, idle_timeout=2.0)
    try:
        job = jobs.Job("lr", ex.LrConfig(lrs=(0.1,), norms=("batch",), epochs=2, seeds=(0,)))
        run_id = runner.submit(job)
        deadline = time.monotonic() + 60
        while runner.view(run_id).active and time.monotonic() < deadline:
            time.sleep(0.05)
        view = runner.view(run_id)
        assert view.state == "finished", (view.error, view.detail)
        here = jobs.run_job(job, DATA)  # the same numbers as here (up to the thread count's rounding)
        np.testing.assert_allclose(view.result.losses["batch"], here.losses["batch"], rtol=1e-4)
        assert view.result.accuracy == pytest.approx(here.accuracy, abs=0.01)
        long = runner.submit(jobs.Job("sweep", ex.SweepConfig(epochs=50)))
        while runner.view(long).done == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        runner.release(long)  # nobody else wants it: it stops
        while runner.view(long).active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runner.view(long).state == "failed" and runner.view(long).error == "stopped"
    finally:
        runner.shutdown()
    assert runner.workers_alive() == 0
