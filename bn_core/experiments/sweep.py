"""Validation error against batch size for every normalization, and BatchNorm's error when it normalizes
with the statistics of a batch of that size (train mode) instead of its running statistics: the train/eval gap."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bn_core.data import Dataset, load
from bn_core.experiments.common import (
    SEEDS,
    SIZE_RANGE,
    Progress,
    fit,
    model_problems,
    scaled_lr,
    total_steps,
    train_mode_error,
    val_error,
)
from bn_core.train import (
    NORMS,
    TrainConfig,
)


@dataclass(frozen=True)
class SweepConfig:
    sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128)
    norms: tuple[str, ...] = ("none", "batch", "layer", "group", "renorm", "weight")
    lr: float = 0.1  # SGD with momentum 0.9, at batch size REFERENCE_BATCH; scaled linearly with the batch
    epochs: int = 8  # the same number of epochs (not steps) at every batch size, as in the GN paper
    hidden: int = 64
    depth: int = 2
    seeds: tuple[int, ...] = SEEDS
    dataset: str = "digits"

    def problems(self) -> list[str]:
        found = model_problems(self.hidden, self.depth, self.epochs, self.seeds)
        if not self.sizes or not all(SIZE_RANGE[0] <= b <= SIZE_RANGE[1] for b in self.sizes):
            found.append("bad_batch_size")
        if not self.norms or not set(self.norms) <= set(NORMS):
            found.append("bad_norm")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 1.0):
            found.append("bad_lr")
        return found

    def run(self, norm: str, size: int, seed: int) -> TrainConfig:
        return TrainConfig(
            dataset=self.dataset,
            norm=norm,
            hidden=self.hidden,
            depth=self.depth,
            batch_size=size,
            lr=scaled_lr(self.lr, size),
            epochs=self.epochs,
            seed=seed,
        )

    def runs(self) -> list[TrainConfig]:
        return [self.run(n, b, s) for n in self.norms for b in self.sizes for s in self.seeds]


@dataclass(frozen=True)
class SweepResult:
    config: SweepConfig
    # norm -> [size index][seed index]: validation error in eval mode (running statistics)
    val_error: dict[str, list[list[float]]]
    # [size index][seed index]: BatchNorm's validation error normalizing with batches of that size
    bn_train_mode_error: list[list[float]]
    diverged: dict[str, list[list[bool]]] = field(default_factory=dict)

    def mean_error(self, norm: str) -> np.ndarray:  # (sizes,)
        return np.array(self.val_error[norm]).mean(axis=1)

    def mean_train_mode_error(self) -> np.ndarray:  # (sizes,)
        return np.array(self.bn_train_mode_error).mean(axis=1)

    def error_range(self, norm: str) -> tuple[np.ndarray, np.ndarray]:  # (sizes,) each: lowest and highest seed
        errors = np.array(self.val_error[norm])
        return errors.min(axis=1), errors.max(axis=1)

    def train_mode_range(self) -> tuple[np.ndarray, np.ndarray]:
        errors = np.array(self.bn_train_mode_error)
        return errors.min(axis=1), errors.max(axis=1)


def batch_size_sweep(
    config: SweepConfig = SweepConfig(),
    data: Dataset | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    data = data if data is not None else load(config.dataset)
    progress = Progress(total_steps(config, len(data.y_train)), should_stop, on_progress)
    errors = {n: [[math.nan] * len(config.seeds) for _ in config.sizes] for n in config.norms}
    diverged = {n: [[False] * len(config.seeds) for _ in config.sizes] for n in config.norms}
    gap = [[math.nan] * len(config.seeds) for _ in config.sizes]
    for norm in config.norms:
        for i, size in enumerate(config.sizes):
            for j, seed in enumerate(config.seeds):
                run = config.run(norm, size, seed)
                if run.problems():  # BatchNorm cannot train on batches of one; the sweep starts at 2
                    continue
                result = fit(run, data, progress)
                diverged[norm][i][j] = result.diverged
                errors[norm][i][j] = 1.0 if result.diverged else val_error(result.model, data)
                if norm == "batch":
                    gap[i][j] = 1.0 if result.diverged else train_mode_error(result.model, data, size, seed)
    return SweepResult(config, errors, gap, diverged)
