"""How soon the runner lets go of a computation nobody wants (the clock-bound halves of tests/integration's runner
tests, which check only the order of events):

- ``release``: the last page that wanted a computing run releases it (Stop, Reset, another configuration);
  the time until the runner counts it as no longer running, against the target (under 3 s);
- ``gone``: the last page that wanted it stops answering (its tab closed); the time until it ends, past the
  runner's ``owner_timeout`` (4 s here), against the target (within 6 s of that timeout);
- ``deadline``: an MNIST download whose server sends a byte every 0.2 s, with a 1.5 s deadline; how far past
  the deadline it stops, against the target (under 1 s).

Each is measured ``--repeat`` times; the output gives each time, the median and the worst.

    python benchmarks/runner_latency.py [--repeat 5]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bn_core import data  # noqa: E402
from bn_core.train import TrainConfig  # noqa: E402
from serve.download import download_mnist  # noqa: E402
from serve.runner import Runner  # noqa: E402
from tests.unit.mnist_server import serve  # noqa: E402
from tests.unit.test_data import gzip_files  # noqa: E402

OWNER_TIMEOUT = 4.0
TARGETS = {"release": 3.0, "gone": OWNER_TIMEOUT + 6.0, "deadline": 1.0}


def until(predicate, timeout: float = 60.0) -> float:
    """The time at which ``predicate()`` became true (polled every 10 ms)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.01)
    return time.monotonic()


def computing(seed: int) -> TrainConfig:
    return TrainConfig(epochs=100, hidden=512, batch_size=2, seed=seed)  # about a minute: ended by the benchmark


def release(runner: Runner, seed: int) -> float:
    run_id = runner.submit(computing(seed), owner="page")
    until(lambda: runner.view(run_id).done > 0)
    asked = time.monotonic()
    runner.release(run_id, "page")
    return until(lambda: runner.counts()["running"] == 0) - asked


def gone(runner: Runner, alive: set, seed: int) -> float:
    alive.add("tab")
    run_id = runner.submit(computing(seed), owner="tab")
    until(lambda: runner.view(run_id).done > 0)
    alive.discard("tab")
    left = time.monotonic()
    ended = until(lambda: runner.counts()["running"] == 0)
    return ended - left


def deadline(tmp: Path) -> float:
    source = tmp / "source"
    source.mkdir(parents=True)
    bodies, sums, sizes = gzip_files(source)
    started = time.monotonic()
    with serve(bodies, mode="slow", pause=0.2) as (url, _):
        try:
            download_mnist(tmp / "mnist", base_url=url, checksums=sums, sizes=sizes, deadline=1.5)
        except data.DataUnavailable as err:
            assert err.reason == "timeout", err.reason
    return time.monotonic() - started - 1.5


def report(name: str, times: list[float]) -> None:
    worst = max(times)
    verdict = "ok" if worst < TARGETS[name] else "over the target"
    times_text = " ".join(f"{t:5.2f}" for t in times)
    target = f"target < {TARGETS[name]:.1f} s: {verdict}"
    print(f"{name:9s} {times_text}   median {statistics.median(times):5.2f} s, worst {worst:5.2f} s ({target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runner = Runner(max_concurrent=1, per_worker=1, heartbeat_timeout=60.0, idle_timeout=60.0)
    try:
        report("release", [release(runner, seed) for seed in range(args.repeat)])
    finally:
        runner.shutdown()
    alive: set = set()
    runner = Runner(
        max_concurrent=1,
        per_worker=1,
        heartbeat_timeout=1.0,
        owner_alive=alive.__contains__,
        owner_timeout=OWNER_TIMEOUT,
    )
    try:
        report("gone", [gone(runner, alive, 100 + seed) for seed in range(args.repeat)])
    finally:
        runner.shutdown()
    with tempfile.TemporaryDirectory() as tmp:
        report("deadline", [deadline(Path(tmp) / str(i)) for i in range(args.repeat)])


if __name__ == "__main__":
    main()
