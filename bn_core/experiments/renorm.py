"""Batch Renormalization's r and d over training, and how often the clip acts, for a few (r_max, d_max),
against BatchNorm at a small batch size (Ioffe, 2017)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from bn_core.data import Dataset, load
from bn_core.experiments.common import (
    D_BINS,
    PHASES,
    R_BINS,
    SEEDS,
    SIZE_RANGE,
    Progress,
    fit,
    model_problems,
    thin,
    total_steps,
    val_error,
)
from bn_core.experiments.sweep import SweepConfig
from bn_core.train import (
    BatchRenorm,
    DigitNN,
    TrainConfig,
    steps_per_epoch,
)


@dataclass(frozen=True)
class RenormConfig:
    settings: tuple[tuple[float, float], ...] = ((1.5, 0.5), (3.0, 5.0))  # (r_max, d_max); BN trains beside them
    batch_size: int = 4
    lr: float = 0.1  # at batch size REFERENCE_BATCH, scaled linearly
    epochs: int = 8
    hidden: int = 64
    depth: int = 2
    seeds: tuple[int, ...] = SEEDS  # r, d and the clipped share are traced with the first
    dataset: str = "digits"

    def problems(self) -> list[str]:
        found = model_problems(self.hidden, self.depth, self.epochs, self.seeds)
        if not SIZE_RANGE[0] <= self.batch_size <= SIZE_RANGE[1]:
            found.append("bad_batch_size")
        if not self.settings or not all(1.0 <= r <= 100 and 0.0 <= d <= 100 for r, d in self.settings):
            found.append("bad_renorm")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 1.0):
            found.append("bad_lr")
        return found

    def run(self, norm: str, seed: int) -> TrainConfig:
        return SweepConfig(lr=self.lr, epochs=self.epochs, hidden=self.hidden, depth=self.depth).run(
            norm, self.batch_size, seed
        )

    def runs(self) -> list[TrainConfig]:
        return [self.run(norm, seed) for seed in self.seeds for norm in ("batch", *["renorm"] * len(self.settings))]


@dataclass(frozen=True)
class RenormResult:
    config: RenormConfig
    bn_error: list[float]  # [seed] BatchNorm's validation error (eval mode) at the same batch size
    errors: list[list[float]]  # [setting][seed] Batch Renorm's validation error (eval mode)
    # r, d and the clip: the first seed's run
    r_hist: list[list[list[float]]]  # [setting][phase][bin]: share of r values (unclipped) per R_BINS bin
    d_hist: list[list[list[float]]]  # [setting][phase][bin]: the same for d, per D_BINS bin
    clip_steps: list[int]  # steps at which the clipped share is kept
    clipped: list[list[float]]  # [setting][kept step]: share of units whose r or d the clip changed
    clipped_total: list[float]  # [setting] share over the whole run

    def clipped_in(self, index: int, quarter: int) -> float:
        """The mean clipped share of setting ``index`` over one quarter (0-3) of the run's kept steps."""
        steps = np.asarray(self.clip_steps)
        edges = np.linspace(0, steps[-1] + 1, 5)
        inside = (steps >= edges[quarter]) & (steps < edges[quarter + 1])
        return float(np.mean(np.asarray(self.clipped[index])[inside]))


def renorm_trace(
    config: RenormConfig = RenormConfig(),
    data: Dataset | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RenormResult:
    data = data if data is not None else load(config.dataset)
    progress = Progress(total_steps(config, len(data.y_train)), should_stop, on_progress)
    bn_error, errors = [], [[] for _ in config.settings]
    r_hist, d_hist, clipped, clipped_total = [], [], [], []
    for seed in config.seeds:
        bn = fit(config.run("batch", seed), data, progress)
        bn_error.append(1.0 if bn.diverged else val_error(bn.model, data))
        for i, (r_max, d_max) in enumerate(config.settings):
            error, r_share, d_share, shares = _renorm_run(config.run("renorm", seed), r_max, d_max, data, progress)
            errors[i].append(error)
            if seed != config.seeds[0]:
                continue
            r_hist.append(r_share.tolist())
            d_hist.append(d_share.tolist())
            steps, kept = thin(shares)
            clipped.append(kept.tolist())
            clipped_total.append(float(shares.mean()))
    return RenormResult(config, bn_error, errors, r_hist, d_hist, steps.tolist(), clipped, clipped_total)


def _renorm_run(
    run: TrainConfig, r_max: float, d_max: float, data: Dataset, progress: Progress
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Train with Batch Renorm at (r_max, d_max): (validation error, r and d histograms per phase
    (PHASES, bins) as shares, the share of units clipped at each step (steps,))."""
    total = steps_per_epoch(len(data.y_train), run) * run.epochs
    edges = np.linspace(0, total, PHASES + 1)
    r_counts = np.zeros((PHASES, len(R_BINS) - 1))
    d_counts = np.zeros((PHASES, len(D_BINS) - 1))
    shares = np.zeros(total)

    def prepare(model: DigitNN) -> None:
        for module in model.modules():
            if isinstance(module, BatchRenorm):
                module.r_max, module.d_max = r_max, d_max

    def after(step: int, model: DigitNN) -> None:
        layers = [m for m in model.modules() if isinstance(m, BatchRenorm)]
        r = torch.cat([m.last_r for m in layers]).numpy()
        d = torch.cat([m.last_d for m in layers]).numpy()
        phase = min(int(np.searchsorted(edges, step, side="right")) - 1, PHASES - 1)
        r_counts[phase] += np.histogram(np.clip(r, R_BINS[0], R_BINS[-1]), R_BINS)[0]
        d_counts[phase] += np.histogram(np.clip(d, D_BINS[0], D_BINS[-1]), D_BINS)[0]
        shares[step] = np.mean((r > r_max) | (r < 1.0 / r_max) | (np.abs(d) > d_max))

    result = fit(run, data, progress, prepare=prepare, after=after)
    error = 1.0 if result.diverged else val_error(result.model, data)

    def share(counts: np.ndarray) -> np.ndarray:
        return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)

    return error, share(r_counts), share(d_counts), shares
