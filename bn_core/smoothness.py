"""Santurkar, Tsipras, Ilyas and Madry (2018), "How Does Batch Normalization Help Optimization?",
on the digit model: with and without BatchNorm, and with "noisy" BatchNorm.

Every ``every`` steps, at the current weights x and on the current batch, with g = ∇L(x) and
each step size η of ``etas``:

- loss range: the lowest and highest L(x − ηg) (with L(x)): how much the loss changes along
  the gradient direction (their Figure 4a);
- gradient predictiveness: max over η of ‖∇L(x) − ∇L(x − ηg)‖: how much the gradient
  changes as one moves along it (their Figure 4b; small = the gradient predicts well);
- effective β-smoothness: max over η of ‖∇L(x) − ∇L(x − ηg)‖ / ‖ηg‖, the gradient's
  Lipschitz constant measured along the step actually taken (their Figure 4c).

"Noisy" BatchNorm adds noise after each BatchNorm layer while training, drawn anew at every
step: each unit j draws a mean m_j ~ U(−noise_mean, noise_mean) and a standard deviation
s_j ~ U(0, noise_std), and each of its values gets m_j + s_j·ε, ε ~ N(0, 1) independently.
Its outputs' distributions then move from step to step (non-zero mean, variance 1 + s_j²),
which is the "internal covariate shift" BatchNorm was thought to remove; the paper's point is
that such a network still trains about as well as with plain BatchNorm. The noise is seeded
apart from the training's own generator, so the three networks see the same batches.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bn_core.data import Dataset, load
from bn_core.experiments import SEEDS, Progress, fit, model_problems, thin, total_steps, val_error
from bn_core.train import TrainConfig

VARIANTS = ("none", "batch", "noisy")
NOISE_SEED_OFFSET = 7_919  # the noise's generator is seeded with seed + this
MEASURED = ("loss_low", "loss_high", "grad_change", "beta", "unit_mean", "unit_std")
MEDIANS = ("loss_range", "grad_change", "beta")  # the measures summarized per seed by their median over the run


class NoisyBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d plus the noise last drawn by ``draw`` (training mode only; inference is plain BN)."""

    def __init__(self, width: int):
        super().__init__(width)
        self.noise: torch.Tensor | None = None  # (N, C) added to the output while training

    def draw(self, n: int, mean_max: float, std_max: float, generator: torch.Generator) -> None:
        width = self.num_features
        mean = (torch.rand(width, generator=generator) * 2 - 1) * mean_max  # (C,)
        std = torch.rand(width, generator=generator) * std_max  # (C,)
        self.noise = mean + std * torch.randn((n, width), generator=generator)  # (N, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y + self.noise if self.training and self.noise is not None else y


@dataclass(frozen=True)
class SmoothnessConfig:
    variants: tuple[str, ...] = VARIANTS
    etas: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)  # step sizes along the gradient (the paper's range)
    every: int = 5  # measure every this many steps
    lr: float = 0.1  # SGD, momentum 0.9
    batch_size: int = 64
    epochs: int = 6
    hidden: int = 64
    depth: int = 3
    seeds: tuple[int, ...] = SEEDS  # the curves are the first seed's; the medians and accuracies every seed's
    noise_mean: float = 1.0
    noise_std: float = 1.0
    dataset: str = "digits"

    def problems(self) -> list[str]:
        found = model_problems(self.hidden, self.depth, self.epochs, self.seeds)
        if not self.variants or not set(self.variants) <= set(VARIANTS):
            found.append("bad_norm")
        if not self.etas or not all(math.isfinite(e) and 0 < e <= 10 for e in self.etas) or self.every < 1:
            found.append("bad_eta")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 10.0):
            found.append("bad_lr")
        if not 2 <= self.batch_size <= 512:
            found.append("bad_batch_size")
        if not all(math.isfinite(v) and 0 <= v <= 10 for v in (self.noise_mean, self.noise_std)):
            found.append("bad_noise")
        return found

    def run(self, variant: str, seed: int) -> TrainConfig:
        return TrainConfig(
            dataset=self.dataset,
            norm="batch" if variant == "noisy" else variant,
            hidden=self.hidden,
            depth=self.depth,
            batch_size=self.batch_size,
            lr=self.lr,
            epochs=self.epochs,
            seed=seed,
        )

    def runs(self) -> list[TrainConfig]:
        return [self.run(v, seed) for seed in self.seeds for v in self.variants]


@dataclass(frozen=True)
class SmoothnessResult:
    config: SmoothnessConfig
    steps: list[int]  # the measured steps
    # variant -> [measured step]
    loss_low: dict[str, list[float]]
    loss_high: dict[str, list[float]]
    grad_change: dict[str, list[float]]
    beta: dict[str, list[float]]
    # variant -> [measured step]: mean and standard deviation over the batch of the first unit's value
    # leaving the last hidden layer's normalization (noise included): how its distribution moves
    unit_mean: dict[str, list[float]]
    unit_std: dict[str, list[float]]
    loss_steps: list[int]
    losses: dict[str, list[float]]  # variant -> the batch loss at the kept steps
    accuracy: dict[str, list[float]]  # variant -> [seed] validation accuracy at the end (eval mode, no noise)
    medians: dict[str, dict[str, list[float]]]  # measure (MEDIANS) -> variant -> [seed] its median over the run

    def trains_like(self, variant: str, other: str, within: float = 0.04) -> list[bool]:
        """Per seed, whether ``variant`` ends at most ``within`` below ``other``'s validation accuracy."""
        pairs = zip(self.accuracy[variant], self.accuracy[other], strict=True)
        return [mine >= theirs - within for mine, theirs in pairs]

    def lower_in(self, name: str, variant: str, other: str) -> int:
        """In how many seeds ``variant``'s median of measure ``name`` is below ``other``'s."""
        return sum(a < b for a, b in zip(self.medians[name][variant], self.medians[name][other], strict=True))

    def median(self, name: str, variant: str) -> float:
        """The median of a measure over the first seed's run (``name``: one of MEDIANS)."""
        if name == "loss_range":
            values = np.subtract(self.loss_high[variant], self.loss_low[variant])
        else:
            values = np.asarray(getattr(self, name)[variant])
        return float(np.nanmedian(values))


def _loss_and_grad(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    return loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()])


def landscape(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, etas: tuple[float, ...]) -> tuple[float, ...]:
    """(lowest loss, highest loss, max gradient change, effective β) along −∇L at the model's
    weights, on one batch, in training mode. Works on a copy: the model and its running
    statistics are untouched."""
    probe = copy.deepcopy(model).train()
    params = list(probe.parameters())
    start = [p.detach().clone() for p in params]
    loss, grad = _loss_and_grad(probe, xb, yb)
    losses, changes, betas = [loss], [], []
    for eta in etas:
        with torch.no_grad():
            offset = 0
            for p, p0 in zip(params, start, strict=True):
                p.copy_(p0 - eta * grad[offset : offset + p.numel()].view_as(p))
                offset += p.numel()
        moved_loss, moved_grad = _loss_and_grad(probe, xb, yb)
        change = float((grad - moved_grad).norm())
        losses.append(moved_loss)
        changes.append(change)
        betas.append(change / max(eta * float(grad.norm()), 1e-12))
    return min(losses), max(losses), max(changes), max(betas)


def smoothness(
    config: SmoothnessConfig = SmoothnessConfig(),
    data: Dataset | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SmoothnessResult:
    data = data if data is not None else load(config.dataset)
    progress = Progress(total_steps(config, len(data.y_train)), should_stop, on_progress)
    out = {k: {} for k in MEASURED}
    losses, steps, loss_steps = {}, [], []
    accuracy = {v: [] for v in config.variants}
    medians = {name: {v: [] for v in config.variants} for name in MEDIANS}
    for seed in config.seeds:
        for variant in config.variants:
            measured_steps, table, result = _measured_run(config, variant, seed, data, progress)
            columns = dict(zip(MEASURED, table.T, strict=True))
            accuracy[variant].append(0.0 if result.diverged else 1.0 - val_error(result.model, data))
            each = {"loss_range": columns["loss_high"] - columns["loss_low"]}
            for name in MEDIANS:
                medians[name][variant].append(float(np.nanmedian(each.get(name, columns.get(name)))))
            if seed != config.seeds[0]:
                continue
            steps = measured_steps
            for k, column in columns.items():
                out[k][variant] = column.tolist()
            loss_steps, kept = thin(result.losses)
            losses[variant] = kept.tolist()
    return SmoothnessResult(
        config, steps, **out, loss_steps=loss_steps.tolist(), losses=losses, accuracy=accuracy, medians=medians
    )


def _measured_run(config: SmoothnessConfig, variant: str, seed: int, data: Dataset, progress: Progress):
    """Train one variant, measuring every ``config.every`` steps: (measured steps, a row of
    MEASURED per measured step (steps, 6), the Fit)."""
    rows: list[tuple[float, ...]] = []
    steps: list[int] = []
    noise = torch.Generator().manual_seed(seed + NOISE_SEED_OFFSET)

    def prepare(model: nn.Module) -> None:
        if variant == "noisy":  # the fresh BatchNorm layers, each replaced by a noisy one
            for block in model.blocks:
                block.norm = NoisyBatchNorm(block.norm.num_features)

    def before(step: int, model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> None:
        for module in model.modules():
            if isinstance(module, NoisyBatchNorm):
                module.draw(len(yb), config.noise_mean, config.noise_std, noise)
        if step % config.every:
            return
        measured = landscape(model, xb, yb, config.etas)
        unit = _leaving_last_norm(model, xb)[:, 0]
        rows.append((*measured, float(unit.mean()), float(unit.std())))
        steps.append(step)

    result = fit(config.run(variant, seed), data, progress, prepare=prepare, before=before)
    return steps, np.array(rows, dtype=np.float64).reshape(-1, len(MEASURED)), result


def _leaving_last_norm(model: nn.Module, xb: torch.Tensor) -> torch.Tensor:  # (N, C)
    """The last hidden layer's normalization output for a batch, as training computes it (noise
    included), on a copy so that no running statistic moves."""
    probe = copy.deepcopy(model).train()
    with torch.no_grad():
        h = xb
        for block in probe.blocks[:-1]:
            h = block(h)
        last = probe.blocks[-1]
        return last.norm(last.linear(h))
