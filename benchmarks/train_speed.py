"""Training speed and accuracy of the `train` lesson (issue 5), on one torch thread.

1. Digits, default settings with BatchNorm, 20 epochs: test accuracy and time, seeds 0-4
   (target: at least 97 % and under 3 s).
2. The app's runner (a warm worker process, progress messages, per-epoch validation and
   probes) against a bare PyTorch loop over the same model, data and batch size, in this
   process: speed ratio (target: at least 0.90).

    python benchmarks/train_speed.py
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from bn_core.data import load_digits  # noqa: E402
from bn_core.train import DigitNN, TrainConfig, batches, make_optimizer, train  # noqa: E402
from serve.runner import Runner  # noqa: E402

REPEATS = 5
RUNNER_REPEATS = 9  # runner and bare loop alternate, so that a slow moment of the machine hits both


def bare_loop(config: TrainConfig, data) -> float:
    """Seconds for config.epochs of plain training: no callbacks, no validation, no probes."""
    generator = torch.Generator().manual_seed(config.seed)
    model = DigitNN(data.n_inputs, config, generator)
    optimizer = make_optimizer(model, config)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    start = time.perf_counter()
    model.train()
    for _ in range(config.epochs):
        for idx in batches(len(y), config.batch_size, generator, merge_single=True):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    data = load_digits()
    config = TrainConfig()  # digits, BatchNorm before ReLU, 64 hidden, SGD 0.1, batch 32, 20 epochs
    train(TrainConfig(epochs=1), data=data)  # warm-up (first use imports torch._dynamo)
    runs = [train(TrainConfig(seed=seed), data=data) for seed in range(REPEATS)]
    accs = [h.test_accuracy for h in runs]
    secs = [h.seconds for h in runs]
    print(f"config: {config}")
    print(
        f"digits, 20 epochs with BatchNorm, seeds 0-{REPEATS - 1}: test accuracy min {min(accs):.2%}, "
        f"mean {statistics.mean(accs):.2%} (target >= 97%); time median {statistics.median(secs):.2f} s, "
        f"max {max(secs):.2f} s (target < 3 s, ratio {max(secs) / 3:.2f})"
    )

    runner = Runner(max_concurrent=1)
    bare, in_worker, end_to_end = [], [], []
    for seed in range(RUNNER_REPEATS + 1):
        start = time.perf_counter()
        run_id = runner.submit(TrainConfig(seed=seed))
        while (view := runner.view(run_id)).active:
            time.sleep(0.1)  # as a page polls: once a second or less
        if seed:  # the first run also waits for the forkserver and its worker to start
            end_to_end.append(time.perf_counter() - start)
            in_worker.append(view.history.seconds)
            bare.append(bare_loop(TrainConfig(seed=seed), data))
        runner.release(run_id)
    runner.shutdown()
    bare_s, worker_s = statistics.median(bare), statistics.median(in_worker)
    print(
        f"bare loop {bare_s:.3f} s; runner's worker (training + per-epoch validation and probes) {worker_s:.3f} s "
        f"(medians of {RUNNER_REPEATS}): speed ratio {bare_s / worker_s:.3f} (target >= 0.90); submit to finished, "
        f"with the hand-over to a waiting worker and the results' transfer: {statistics.median(end_to_end):.3f} s"
    )


if __name__ == "__main__":
    main()
