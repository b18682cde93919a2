"""The `experiments` lesson's experiments on the digit model, each a pure function of a
frozen configuration (seeded: the same configuration gives the same numbers).

- ``batch_size_sweep``: validation error against batch size for every normalization, and
  BatchNorm's error when it normalizes with the statistics of a batch of that size (train mode)
  instead of its running statistics (eval mode): the train/eval gap.
- ``renorm_trace``: Batch Renormalization's r and d over training, and how often the clip
  acts, for a few (r_max, d_max), against BatchNorm at batch size 4 (Ioffe, 2017).
- ``lr_robustness``: the loss of every step over a set of learning rates, with and without BN.
- ``smoothness`` (in ``bn_core.smoothness``): Santurkar et al. (2018)'s measurements.

All of them train through ``fit``, the loop of ``bn_core.train.train`` without its
measurements, with hooks before and after each step (``train`` keeps its own loop: it
measures, paces and reports per epoch). ``run_job`` runs one by name, for a worker process.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from torch.nn import functional as F

from bn_core.data import Dataset, load
from bn_core.train import (
    BATCH_STAT_NORMS,
    DIVERGED_LOSS,
    NORMS,
    BatchRenorm,
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


# --- results ------------------------------------------------------------------------------
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


# --- the experiments ------------------------------------------------------------------------
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
