"""What the experiments share: the seeds, the training loop without measurements (``fit``) and its hooks,
the errors they report, and a configuration's digest and JSON form."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch.nn import functional as F

from bn_core.data import Dataset
from bn_core.train import (
    BATCH_STAT_NORMS,
    DIVERGED_LOSS,
    DigitNN,
    TrainConfig,
    batches,
    evaluate,
    make_optimizer,
    steps_per_epoch,
)

SEEDS = (0, 1, 2, 3, 4)  # each setting runs with these seeds (weights, batch order); the lesson draws their spread
REFERENCE_BATCH = 32  # the batch size at which a sweep's learning rate is the configured one
SIZE_RANGE = (2, 512)
R_BINS = np.geomspace(1 / 8, 8, 41)  # r is a ratio: bins even on a log scale, 1/8 .. 8
D_BINS = np.linspace(-8, 8, 41)
PHASES = 4  # r and d histograms per quarter of the run
TRACE_POINTS = 100  # at most this many points of a per-step curve are kept


class Stopped(Exception):
    """Raised inside an experiment when its ``should_stop`` says so."""


class Progress:
    """Counts an experiment's training steps; asks whether to stop before each one."""

    def __init__(
        self,
        total: int,
        should_stop: Callable[[], bool] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ):
        self.total, self.done = total, 0
        self.should_stop, self.on_progress = should_stop, on_progress

    def tick(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Stopped
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)


@dataclass
class Fit:
    model: DigitNN  # in train mode
    losses: np.ndarray  # (steps,) each batch's loss before its update
    diverged: bool  # a loss became non-finite or exceeded DIVERGED_LOSS (training stopped there)


def fit(
    config: TrainConfig,
    data: Dataset,
    progress: Progress | None = None,
    *,
    prepare: Callable[[DigitNN], None] | None = None,
    before: Callable[[int, DigitNN, torch.Tensor, torch.Tensor], None] | None = None,
    after: Callable[[int, DigitNN], None] | None = None,
) -> Fit:
    """Train as ``bn_core.train.train`` does (same generator, weights, batches and updates):
    ``prepare(model)`` once, ``before(step, model, xb, yb)`` ahead of each step's forward pass and
    ``after(step, model)`` once its update is done."""
    generator = torch.Generator().manual_seed(config.seed)
    model = DigitNN(data.n_inputs, config, generator)
    if prepare is not None:
        prepare(model)
    optimizer = make_optimizer(model, config)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    losses, step = [], 0
    for _ in range(config.epochs):
        model.train()
        for idx in batches(len(y_train), config.batch_size, generator, config.norm in BATCH_STAT_NORMS):
            if progress is not None:
                progress.tick()
            xb, yb = x_train[idx], y_train[idx]
            if before is not None:
                before(step, model, xb, yb)
            loss = F.cross_entropy(model(xb), yb)
            value = loss.item()
            losses.append(value)
            if not math.isfinite(value) or value > DIVERGED_LOSS:
                return Fit(model, np.array(losses), True)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if after is not None:
                after(step, model)
            step += 1
    return Fit(model, np.array(losses), False)


def val_error(model: DigitNN, data: Dataset) -> float:
    """Error on the validation images in eval mode (running statistics)."""
    _, accuracy, _ = evaluate(model, torch.from_numpy(data.x_val), torch.from_numpy(data.y_val))
    return 1.0 - accuracy


def train_mode_error(model: DigitNN, data: Dataset, batch_size: int, seed: int) -> float:
    """Error on the validation images when every normalization uses the statistics of the batch it
    sits in, as in training: the images in random batches of ``batch_size`` (a last batch of one
    joins the one before it); the running statistics are neither used nor updated."""
    x, y = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    wrong = 0
    with torch.no_grad():
        for idx in batches(len(y), batch_size, torch.Generator().manual_seed(seed), merge_single=True):
            h = x[idx]
            for block in model.blocks:
                _, _, h = block.stages(h)
            wrong += int((model.out(h).argmax(1) != y[idx]).sum())
    return wrong / len(y)


def scaled_lr(lr: float, batch_size: int) -> float:
    """The linear scaling rule (Goyal et al., 2017; the Group Normalization paper's sweep uses it):
    the learning rate is proportional to the batch size."""
    return lr * batch_size / REFERENCE_BATCH


def thin(values: np.ndarray, points: int = TRACE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of a per-step curve kept at about ``points`` evenly spaced steps, and its last."""
    every = max(1, math.ceil(len(values) / points))
    steps = np.unique(np.append(np.arange(0, len(values), every), len(values) - 1))
    return steps, np.asarray(values)[steps]


# --- configurations -----------------------------------------------------------------------
def model_problems(hidden: int, depth: int, epochs: int, seeds: tuple[int, ...]) -> list[str]:
    """The digit network settings TrainConfig.problems refuses, and seeds that are missing or negative."""
    base = TrainConfig(hidden=hidden, depth=depth, epochs=epochs)
    found = [p for p in base.problems() if p in ("bad_hidden", "bad_depth", "bad_epochs")]
    return found + (["bad_seed"] if not seeds or min(seeds) < 0 else [])


def config_hash(config) -> str:
    """A short digest of a configuration: the results files name the configuration they were computed for."""
    text = json.dumps({"type": type(config).__name__, **asdict(config)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_from(cls, values: dict):
    """A configuration from its JSON form (lists back to tuples)."""

    def tuples(v):
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v

    names = {f.name for f in fields(cls)}
    return cls(**{k: tuples(v) for k, v in values.items() if k in names})


def total_steps(config, n_train: int) -> int:
    """Training steps an experiment takes (its progress bar's length)."""
    return sum(steps_per_epoch(n_train, run) * run.epochs for run in config.runs())
