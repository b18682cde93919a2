"""The loss of every step over a set of learning rates, with and without BatchNorm: the largest rate that
trains."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bn_core.data import Dataset, load
from bn_core.experiments.common import SEEDS, SIZE_RANGE, Progress, fit, model_problems, thin, total_steps, val_error
from bn_core.train import (
    DIVERGED_LOSS,
    NORMS,
    TrainConfig,
    steps_per_epoch,
)


@dataclass(frozen=True)
class LrConfig:
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 2.0)
    norms: tuple[str, ...] = ("none", "batch")
    batch_size: int = 60
    epochs: int = 6
    hidden: int = 100
    depth: int = 3
    seeds: tuple[int, ...] = SEEDS  # the loss band is drawn for the first
    trains_at: float = 0.9  # the validation accuracy a run must reach to count as trained
    dataset: str = "digits"

    def problems(self) -> list[str]:
        found = model_problems(self.hidden, self.depth, self.epochs, self.seeds)
        if not self.lrs or not all(math.isfinite(v) and 1e-5 <= v <= 10.0 for v in self.lrs):
            found.append("bad_lr")
        if not self.norms or not set(self.norms) <= set(NORMS):
            found.append("bad_norm")
        if not SIZE_RANGE[0] <= self.batch_size <= SIZE_RANGE[1]:
            found.append("bad_batch_size")
        return found

    def run(self, norm: str, lr: float, seed: int) -> TrainConfig:
        return TrainConfig(
            dataset=self.dataset,
            norm=norm,
            hidden=self.hidden,
            depth=self.depth,
            batch_size=self.batch_size,
            lr=lr,
            epochs=self.epochs,
            seed=seed,
        )

    def runs(self) -> list[TrainConfig]:
        return [self.run(n, lr, seed) for n in self.norms for lr in self.lrs for seed in self.seeds]


@dataclass(frozen=True)
class LrResult:
    config: LrConfig
    losses: dict[str, list[list[float]]]  # norm -> [lr][kept step] the batch's loss (first seed); nan after divergence
    steps: list[int]  # the kept steps
    accuracy: dict[str, list[list[float]]]  # norm -> [lr][seed] validation accuracy at the end (0 if diverged)
    diverged: dict[str, list[list[bool]]]  # norm -> [lr][seed]

    def band(self, norm: str) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) loss over the learning rates at each kept step; a diverged run counts
        as DIVERGED_LOSS from its divergence on."""
        losses = np.array(self.losses[norm], dtype=np.float64)
        losses = np.where(np.isnan(losses), DIVERGED_LOSS, np.minimum(losses, DIVERGED_LOSS))
        return losses.min(axis=0), losses.max(axis=0)

    def largest_lr(self, norm: str, seed_index: int = 0) -> float | None:
        """The largest rate whose run with seed ``seed_index`` reached ``trains_at`` validation accuracy (or None)."""
        good = [
            lr
            for lr, acc in zip(self.config.lrs, self.accuracy[norm], strict=True)
            if acc[seed_index] >= self.config.trains_at
        ]
        return max(good) if good else None

    def largest_lrs(self, norm: str) -> list[float | None]:
        """``largest_lr`` for each seed."""
        return [self.largest_lr(norm, i) for i in range(len(self.config.seeds))]


def lr_robustness(
    config: LrConfig = LrConfig(),
    data: Dataset | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> LrResult:
    data = data if data is not None else load(config.dataset)
    progress = Progress(total_steps(config, len(data.y_train)), should_stop, on_progress)
    total = max(steps_per_epoch(len(data.y_train), run) * run.epochs for run in config.runs())
    losses, accuracy, diverged = {}, {}, {}
    steps = None
    for norm in config.norms:
        losses[norm], accuracy[norm], diverged[norm] = [], [], []
        for lr in config.lrs:
            runs = [fit(config.run(norm, lr, seed), data, progress) for seed in config.seeds]
            accuracy[norm].append([0.0 if r.diverged else 1.0 - val_error(r.model, data) for r in runs])
            diverged[norm].append([r.diverged for r in runs])
            result = runs[0]  # the band: the first seed's losses
            full = np.full(total, np.nan)
            full[: len(result.losses)] = result.losses
            if result.diverged:  # nan from the diverging step on: LrResult.band counts it at DIVERGED_LOSS
                full[len(result.losses) - 1 :] = np.nan
            else:  # a run one step shorter (BatchNorm's last batch of one joined the one before it)
                full[len(result.losses) :] = result.losses[-1]
            steps, kept = thin(full)
            losses[norm].append(kept.tolist())
    return LrResult(config, losses, steps.tolist(), accuracy, diverged)
