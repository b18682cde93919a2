"""A training worker's memory on MNIST (issue 14). Two networks, each trained by the runner's
worker process at batch sizes 2, 8 and 32:

- ``largest``: the largest the lesson allows, 3 hidden layers of 512 units and a last hidden
  layer of 512, BatchNorm, Adam;
- ``issue14``: the issue's reproduction, /train?data=mnist&hidden=512&bs=8 with the page's
  other defaults (one hidden layer of 512, BatchNorm, SGD with momentum).

Prints the worker's peak resident memory (the kernel's high-water mark, VmHWM) and its resident
memory once idle after the run, against the targets (peak under 600 MB, idle under 400 MB),
and the resident memory every 1 000 steps, to show whether it still grows.

MNIST cannot be downloaded here: the script writes IDX files of MNIST's real size
(60 000 + 10 000 images of 28x28, gzip, seeded synthetic pixels) to a temporary directory
and points BN_LAB_MNIST_DIR at it. One epoch at batch size 2 is 30 000 steps; each run
stops after at most STEPS steps (the output says how many it trained).

    python benchmarks/worker_memory.py [--steps 6000] [--bs 2 8 32] [--nets largest issue14]
"""

import argparse
import gzip
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bn_core import data  # noqa: E402
from bn_core.train import DEPTH_RANGE, HIDDEN_RANGE, TrainConfig  # noqa: E402
from serve.protocol import Failed, Progress, Start, Trained  # noqa: E402
from serve.runner import Runner  # noqa: E402

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


def own(pid: int) -> int:
    """Memory the process does not share with the forkserver or anyone (private pages), in MB."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total // 1024


def normal_priority(pid: int) -> None:
    """The worker back at nice 0, where permitted (root). Memory does not depend on priority, but a
    nice-19 worker on a machine busy with other work gets a few per cent of a core, and a run of
    thousands of steps would take many minutes."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 0)
        Path(f"/proc/{pid}/autogroup").write_text("0")
    except OSError:
        pass


NETS = {
    "largest": TrainConfig(
        dataset="mnist",
        hidden=HIDDEN_RANGE[1],
        depth=DEPTH_RANGE[1],
        hidden2=HIDDEN_RANGE[1],
        optimizer="adam",
        lr=1e-3,
        epochs=1,
    ),
    "issue14": TrainConfig(dataset="mnist", hidden=HIDDEN_RANGE[1], epochs=1),
}


def run_one(runner: Runner, directory: str, config: TrainConfig, steps: int) -> dict:
    """One run in a fresh worker, started as the runner starts its workers (forked from its
    forkserver) but driven here through its pipe, cut at ``steps`` by the worker's own step cap."""
    worker = runner._start_worker()  # noqa: SLF001 - a benchmark of that very process
    pid = worker.process.pid
    normal_priority(pid)
    worker.conn.send(Start("measured", config, directory, 3600, steps))  # its step cap ends it at ``steps``
    trace, next_report, done, total = [], REPORT_EVERY, 0, 0
    try:
        while True:
            report = worker.conn.recv()
            if isinstance(report, Progress):
                done, total = report.done, report.total
                if done < 100:  # (the worker lowers its own priority as it starts)
                    normal_priority(pid)
                if done >= next_report:
                    trace.append(status(pid)["VmRSS"])
                    next_report += REPORT_EVERY
            elif isinstance(report, Failed):
                raise SystemExit(f"the run failed: {report.reason} {report.detail}")
            elif isinstance(report, Trained):
                break
        peak = status(pid)
        time.sleep(IDLE_WAIT)
        idle = status(pid)
        idle["own"] = own(pid)
    finally:
        runner._end(worker, ask=True)  # noqa: SLF001
    return {"steps": done, "of": total, "peak": peak, "idle": idle, "trace": trace}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6_000, help="steps per run at most")
    parser.add_argument("--bs", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bn-lab-mnist-") as tmp:
        write_mnist(Path(tmp))
        os.environ[data.MNIST_DIR_ENV] = tmp
        print(
            "worker memory, MNIST-sized synthetic data (60 000 + 10 000 images, 28x28); "
            f"at most {args.steps} steps per run; a fresh worker per run",
            flush=True,
        )
        runner = Runner(max_concurrent=1)
        for net in args.nets:
            base = NETS[net]
            print(f"{net}: widths {base.widths}, norm {base.norm}, {base.optimizer}", flush=True)
            for batch_size in args.bs:
                measure(runner, tmp, replace(base, batch_size=batch_size), args.steps)


def measure(runner: Runner, directory: str, config: TrainConfig, steps: int) -> None:
    result = run_one(runner, directory, config, steps)
    peak, idle = result["peak"]["VmHWM"], result["idle"]["VmRSS"]
    print(
        f"bs {config.batch_size:3d}: {result['steps']} of {result['of']} steps in the epoch; "
        f"peak {peak} MB (target < {PEAK_TARGET_MB}, ratio {peak / PEAK_TARGET_MB:.2f}), "
        f"idle {idle} MB (target < {IDLE_TARGET_MB}, ratio {idle / IDLE_TARGET_MB:.2f}; "
        f"of its own {result['idle']['own']} MB, the rest shared with the forkserver)",
        flush=True,
    )
    print("        resident every 1 000 steps (MB): " + " ".join(str(mb) for mb in result["trace"]), flush=True)


if __name__ == "__main__":
    main()
