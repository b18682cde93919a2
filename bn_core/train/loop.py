"""The training loop: batches from one seeded generator, the optimizer, evaluation, and the measures taken
every few steps (``train``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bn_core.data import Dataset, load, unit
from bn_core.train.config import (
    BATCH_STAT_NORMS,
    CLASSES,
    DIVERGED_LOSS,
    EVAL_CHUNK,
    MEASURE_SIZE,
    MEASURES,
    MEASURES_KEPT,
    PROBE_SIZE,
    PROBE_UNITS,
    QUANTILES,
    SNAPSHOTS,
    TrainConfig,
)
from bn_core.train.history import EpochRecord, History, Measure
from bn_core.train.layers import DigitNN


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


def batches(n: int, batch_size: int, generator: torch.Generator, merge_single: bool) -> list[torch.Tensor]:
    """Shuffled index batches; with ``merge_single`` a last batch of one joins the
    one before it (BatchNorm cannot train on a single value per channel)."""
    order = torch.randperm(n, generator=generator)
    chunks = list(torch.split(order, batch_size))
    if merge_single and len(chunks) > 1 and len(chunks[-1]) == 1:
        chunks[-2:] = [torch.cat(chunks[-2:])]
    return chunks


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """Images as a float32 tensor in [0, 1] (MNIST's uint8 pixels divided by 255, see data.unit)."""
    return torch.from_numpy(unit(np.asarray(images)).astype(np.float32, copy=False))


def unit_batch(x: torch.Tensor) -> torch.Tensor:
    """A batch of a data set's images as float32 in [0, 1]: data.unit in torch (float32 division,
    correctly rounded as NumPy's), so that a data set kept as uint8 trains on the same numbers."""
    return x.float().div_(255) if x.dtype == torch.uint8 else x


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """Loss, accuracy and predicted classes in eval mode, ``EVAL_CHUNK`` images at a time (each
    image's output is the same either way in eval mode). ``x`` may be uint8 pixels (unit_batch)."""
    model.eval()
    losses, predicted = [], []
    with torch.no_grad():
        for start in range(0, len(y), EVAL_CHUNK):
            logits = model(unit_batch(x[start : start + EVAL_CHUNK]))
            yb = y[start : start + EVAL_CHUNK]
            losses.append(F.cross_entropy(logits, yb).item() * len(yb))
            predicted.append(logits.argmax(1))
    predicted = torch.cat(predicted) if predicted else torch.empty(0, dtype=torch.long)
    loss = sum(losses) / len(y) if len(y) else math.nan
    return loss, (predicted == y).float().mean().item(), predicted


def probe_layers(model: DigitNN, x: torch.Tensor) -> np.ndarray:
    """(layers, 2, N, PROBE_UNITS): the first units' values entering and leaving each hidden layer's
    normalization for the images ``x``, as training computes them (see HiddenBlock.stages)."""
    out = []
    with torch.no_grad():
        for block in model.blocks:
            pre, post, x = block.stages(x)
            out.append(torch.stack([pre[:, :PROBE_UNITS], post[:, :PROBE_UNITS]]))
    return torch.stack(out).numpy()


def quantiles_of(samples: np.ndarray) -> np.ndarray:
    """(..., N, units) -> (..., units, len(QUANTILES))."""
    return np.moveaxis(np.quantile(samples, QUANTILES, axis=-2), 0, -1)


def snapshot_steps(total: int, count: int = SNAPSHOTS) -> set[int]:
    """Steps whose measures keep every probed value: step 0, the last, and steps between them
    spaced evenly on a log scale (the network changes fastest at the start)."""
    return {0, total} | {int(round(s)) for s in np.geomspace(1, max(total, 1), count - 2)}


def steps_per_epoch(n_train: int, config: TrainConfig) -> int:
    return len(batches(n_train, config.batch_size, torch.Generator(), config.norm in BATCH_STAT_NORMS))


def keep_measure(measures: list[Measure], measure: Measure, limit: int | None = None) -> None:
    """Append ``measure``; past ``limit``, drop every other measure but the newest quarter (and step 0,
    and those with probed values). A run paced slowly is measured every step (about 1 KB each, and a
    point on each live curve): an hour at 20 steps a second would keep 72 000. Thinned, the latest
    steps stay one apart and the older ones get sparser, which a curve of the whole run does not show."""
    measures.append(measure)
    limit = MEASURES_KEPT if limit is None else limit
    if len(measures) > limit:
        newest = len(measures) - limit // 4
        measures[:] = [m for i, m in enumerate(measures) if i % 2 == 0 or i >= newest or m.samples is not None]


def measure_interval(total: int) -> int:
    return max(1, total // MEASURES)


class _Measurer:
    """Takes the measures of one run."""

    def __init__(self, data: Dataset, total: int):
        self.x_val, self.y_val = as_tensor(data.x_val[:MEASURE_SIZE]), torch.from_numpy(data.y_val[:MEASURE_SIZE])
        self.x_test, self.y_test = as_tensor(data.x_test[:MEASURE_SIZE]), torch.from_numpy(data.y_test[:MEASURE_SIZE])
        self.x_probe = self.x_val[:PROBE_SIZE]
        self.snapshots = snapshot_steps(total)
        self.loss_sum, self.loss_count = 0.0, 0

    def add_loss(self, value: float) -> None:
        self.loss_sum, self.loss_count = self.loss_sum + value, self.loss_count + 1

    def __call__(self, model: DigitNN, step: int, epoch: int) -> Measure:
        val_loss, val_acc, _ = evaluate(model, self.x_val, self.y_val)
        _, test_acc, _ = evaluate(model, self.x_test, self.y_test)
        samples = probe_layers(model, self.x_probe)
        train_loss = self.loss_sum / self.loss_count if self.loss_count else math.nan
        self.loss_sum, self.loss_count = 0.0, 0
        keep = samples.astype(np.float32) if step in self.snapshots else None
        return Measure(step, epoch, train_loss, val_loss, val_acc, test_acc, quantiles_of(samples), keep)


def train(
    config: TrainConfig,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    should_stop: Callable[[], bool | str | None] | None = None,
    *,
    data: Dataset | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_measure: Callable[[Measure], None] | None = None,
    measure_at: Callable[[int], bool] | None = None,
) -> History:
    """Train DigitNN on ``config.dataset`` (or ``data``). ``should_stop`` is asked before every
    batch (it may also wait: a paced run waits there); ``on_progress(done, total)`` hears about
    every batch. The network is measured at step 0 and after every step for which ``measure_at``
    is true (default: every ``measure_interval(total)`` steps), and after the last."""
    problems = config.problems()
    if problems:
        raise ValueError(f"cannot train with this configuration: {', '.join(problems)}")
    data = data if data is not None else load(config.dataset)
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(config.seed)
    model = DigitNN(data.n_inputs, config, generator)
    optimizer = make_optimizer(model, config)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)  # uint8 for MNIST
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)  # evaluate converts a chunk at a time
    # Each epoch's logits, for its training accuracy: one buffer for the run, filled batch by batch.
    # A list of every batch's logits, kept until the epoch ended, pinned thousands of small blocks
    # between the large ones each batch frees, and the heap kept growing: a worker on MNIST at
    # batch size 8 grew from 591 to 1 338 MB in 4 000 steps (benchmarks/worker_memory.py; issue 14
    # saw 4.66 GB). Counting correct answers per batch would cost four tensor operations per
    # batch (6 % of a step on the digits, measured earlier); this copy is one.
    epoch_logits = torch.empty(len(y_train), CLASSES)
    merge = config.norm in BATCH_STAT_NORMS
    total, done = steps_per_epoch(len(y_train), config) * config.epochs, 0
    every = measure_interval(total)
    measure_at = measure_at or (lambda step: step % every == 0)
    measurer = _Measurer(data, total)
    history = History(config)

    def record(epoch: int) -> None:
        keep_measure(history.measures, measurer(model, done, epoch))
        if on_measure is not None:
            on_measure(history.measures[-1])

    record(0)
    for epoch in range(1, config.epochs + 1):
        model.train()
        loss_sum, seen = 0.0, 0
        chunks = batches(len(y_train), config.batch_size, generator, merge)
        for idx in chunks:
            stop = should_stop() if should_stop is not None else None
            if stop:  # a reason ("cap": a server's limit on a run) or True: asked to stop
                history.stopped = stop if isinstance(stop, str) else "user"
                break
            xb, yb = unit_batch(x_train[idx]), y_train[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            value = loss.item()
            if not math.isfinite(value) or value > DIVERGED_LOSS:
                history.stopped, history.diverged_at = "diverged", epoch
                history.diverged_loss = value
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += value * len(idx)
            measurer.add_loss(value)
            epoch_logits[seen : seen + len(idx)] = logits.detach()
            seen += len(idx)
            done += 1
            if on_progress is not None:
                on_progress(done, total)
            if done != total and measure_at(done):
                record(epoch)
                model.train()
        if history.stopped is not None:
            break
        correct = int((epoch_logits[:seen].argmax(1) == y_train[torch.cat(chunks)[:seen]]).sum())
        val_loss, val_acc, _ = evaluate(model, x_val, y_val)
        norm = model.blocks[0].norm
        stats = [getattr(norm, name, None) for name in ("running_mean", "running_var")]
        stats = [None if s is None else s[:PROBE_UNITS].numpy().copy() for s in stats]
        summary = EpochRecord(epoch, loss_sum / seen, correct / seen, val_loss, val_acc, time.perf_counter() - started)
        summary.running_mean, summary.running_var = stats
        history.epochs.append(summary)
        if on_epoch is not None:
            on_epoch(summary)
    if history.stopped != "diverged" and (not history.measures or history.measures[-1].step != done):
        record(history.epochs[-1].epoch if history.epochs else 0)

    if history.stopped != "diverged":
        _, test_acc, predicted = evaluate(model, torch.from_numpy(data.x_test), torch.from_numpy(data.y_test))
        history.test_accuracy, history.test_predictions = test_acc, predicted.numpy()
    model.eval()
    history.model = model
    history.seconds = time.perf_counter() - started
    return history
