"""A training worker's memory on MNIST (issue 14): the largest network the lesson allows
(3 hidden layers of 512 units and a last hidden layer of 512, BatchNorm, Adam) trained by
the runner's worker process at batch sizes 2, 8 and 32. Prints the worker's peak resident
memory (the kernel's high-water mark, VmHWM) and its resident memory once idle after the
run, against the targets (peak under 600 MB, idle under 400 MB), and the resident memory
every 1 000 steps to show whether it still grows.

MNIST cannot be downloaded here: the script writes IDX files of MNIST's real size
(60 000 + 10 000 images of 28x28, gzip, seeded synthetic pixels) to a temporary directory
and points BN_LAB_MNIST_DIR at it. One epoch at batch size 2 is 30 000 steps; each run
stops after at most STEPS steps (the output says how many it trained).

    python benchmarks/worker_memory.py [--steps 6000] [--bs 2 8 32]
"""

import argparse
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bn_core import data  # noqa: E402
from bn_core.runner import Runner  # noqa: E402
from bn_core.train import DEPTH_RANGE, HIDDEN_RANGE, TrainConfig  # noqa: E402

PEAK_TARGET_MB, IDLE_TARGET_MB = 600, 400
REPORT_EVERY = 1_000  # steps
IDLE_WAIT = 3.0  # seconds after a run before its idle worker is measured


def write_mnist(directory: Path, seed: int = 0) -> None:
    """Four gzip IDX files with MNIST's names, shapes and types; pixels and labels are seeded noise."""
    rng = np.random.default_rng(seed)
    sizes = {"train": 60_000, "test": 10_000}
    for role, (name, _) in data.MNIST_FILES.items():
        split, kind = role.split("_")
        n = sizes[split]
        if kind == "images":
            array = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        else:
            array = rng.integers(0, 10, n, dtype=np.uint8)
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        (directory / f"{name}.gz").write_bytes(gzip.compress(header + array.tobytes(), compresslevel=1))


def status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile of a process, in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                values[key] = int(rest.split()[0]) // 1024
    return values


def normal_priority(pid: int) -> None:
    """The worker back at nice 0, where permitted (root). Memory does not depend on priority, but a
    nice-19 worker on a machine busy with other work gets a few per cent of a core, and a run of
    thousands of steps would take many minutes."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 0)
        Path(f"/proc/{pid}/autogroup").write_text("0")
    except OSError:
        pass


def largest(batch_size: int) -> TrainConfig:
    return TrainConfig(
        dataset="mnist",
        norm="batch",
        hidden=HIDDEN_RANGE[1],
        depth=DEPTH_RANGE[1],
        hidden2=HIDDEN_RANGE[1],
        optimizer="adam",
        lr=1e-3,
        batch_size=batch_size,
        epochs=1,
    )


def run_one(runner: Runner, directory: str, batch_size: int, steps: int) -> dict:
    config = largest(batch_size)
    run_id = runner.submit(config, mnist_directory=directory)
    worker = None
    trace, next_report, stopped = [], REPORT_EVERY, False
    while True:
        view = runner.view(run_id)
        if worker is None:
            worker = next((w for w in runner._workers if w.run_id == run_id), None)  # noqa: SLF001 - a benchmark
            if worker is not None:
                normal_priority(worker.process.pid)
        if worker is not None and view.done >= next_report:
            trace.append((view.done, status(worker.process.pid)["VmRSS"]))
            next_report += REPORT_EVERY
        if not stopped and view.done >= steps:
            runner.stop(run_id)
            stopped = True
        if view.state in ("finished", "failed"):
            break
        time.sleep(0.02)
    if view.state == "failed":
        raise SystemExit(f"the run failed: {view.error} {view.detail}")
    pid = worker.process.pid
    peak = status(pid)
    time.sleep(IDLE_WAIT)
    idle = status(pid)
    return {"steps": view.done, "of": view.total, "peak": peak, "idle": idle, "trace": trace, "pid": pid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6_000, help="steps per run at most")
    parser.add_argument("--bs", type=int, nargs="+", default=[2, 8, 32])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bn-lab-mnist-") as tmp:
        write_mnist(Path(tmp))
        os.environ[data.MNIST_DIR_ENV] = tmp
        config = largest(args.bs[0])
        print(
            f"worker memory, MNIST-sized synthetic data (60 000 + 10 000 images, 28x28): widths {config.widths}, "
            f"norm {config.norm}, {config.optimizer}; at most {args.steps} steps per run; a fresh worker per run"
        )
        for batch_size in args.bs:
            runner = Runner(max_concurrent=1, idle_timeout=60.0)
            try:
                result = run_one(runner, tmp, batch_size, args.steps)
            finally:
                runner.shutdown()
            peak, idle = result["peak"]["VmHWM"], result["idle"]["VmRSS"]
            print(
                f"bs {batch_size:3d}: {result['steps']} of {result['of']} steps in the epoch; "
                f"peak {peak} MB (target < {PEAK_TARGET_MB}, ratio {peak / PEAK_TARGET_MB:.2f}), "
                f"idle {idle} MB (target < {IDLE_TARGET_MB}, ratio {idle / IDLE_TARGET_MB:.2f}; "
                f"anonymous {result['idle']['RssAnon']} MB, file {result['idle']['RssFile']} MB)"
            )
            print("        resident every 1 000 steps (MB): " + " ".join(str(mb) for _, mb in result["trace"]))


if __name__ == "__main__":
    main()
