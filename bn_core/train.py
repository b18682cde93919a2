"""Train the `train` lesson's digit classifier, with or without a normalization layer.

    >>> from bn_core.train import TrainConfig, train
    >>> history = train(TrainConfig(norm="batch", epochs=5))
    >>> history.test_accuracy

Every random draw (initial weights, shuffling, dropout) comes from one
``torch.Generator`` seeded with ``config.seed``: a run is reproducible from its
configuration, and two runs in the same process do not disturb each other.
Torch's global random state is never touched. A configuration and its ``twin``
(the same network without normalization) start from the same weights.

While it trains, a run is measured every few steps (``Measure``): validation and
test accuracy, and for each hidden layer the 15th, 50th and 85th percentiles of
a few units' values entering and leaving the normalization, as Ioffe and
Szegedy (2015) show in their Figure 1.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bn_core.batchnorm import single_value_message
from bn_core.data import DATASETS, Dataset, load, unit
from bn_core.weightnorm import WeightNormLinear

NORMS = ("none", "batch", "layer", "group", "renorm", "weight")  # "weight": Weight Normalization of the Linear
BATCH_STAT_NORMS = ("batch", "renorm")  # normalize with the batch's statistics while training
BN_STATS = ("batch", "running")  # what BatchNorm ("batch") normalizes with while training; see RunningStatsBatchNorm
PLACEMENTS = ("before", "after")  # the normalization before or after the nonlinearity
ACTIVATIONS = ("relu", "sigmoid")
OPTIMIZERS = ("sgd", "adam")
HIDDEN_RANGE = (16, 512)
DEPTH_RANGE = (1, 3)  # hidden layers of `hidden` units (a `hidden2` layer may follow)
BATCH_RANGE = (1, 512)
EPOCH_RANGE = (1, 100)
LR_RANGE = (1e-5, 10.0)
INIT_STD_MAX = 1.0
DROPOUT_MAX = 0.9
PROBE_SIZE = 256  # validation images whose hidden values are recorded
PROBE_UNITS = 4  # hidden units recorded per layer
QUANTILES = (0.15, 0.5, 0.85)  # the percentiles of Ioffe and Szegedy's Figure 1(b, c)
MEASURES = 200  # about this many measures over a run (more when it is paced slowly)
MEASURES_KEPT = 1_000  # at most this many measures per run (a slowly paced run is measured every step)
SNAPSHOTS = 24  # measures that also keep every probed value (for histograms), spread over the run
MEASURE_SIZE = 2_000  # validation and test images used by a measure (all of them on the digits)
# Images per forward pass when evaluating: MNIST's 10 000 test images at once took 150 MB more for a moment.
EVAL_CHUNK = 2_000
# A batch loss above this counts as divergence. Guessing uniformly costs ln 10 ≈ 2.3; a loss of 100
# means logits about 100 apart in the wrong direction: the weights have blown up, even if they
# have not reached infinity (with ReLU they often die instead, and the loss never becomes NaN).
DIVERGED_LOSS = 100.0
CLASSES = 10


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "digits"
    norm: str = "batch"
    placement: str = "before"
    hidden: int = 64
    batch_size: int = 32
    lr: float = 0.1
    epochs: int = 20
    optimizer: str = "sgd"
    dropout: float = 0.0  # the rate; 0 = no dropout
    seed: int = 0
    hidden2: int = 0  # a last hidden layer's width; 0 = none
    momentum: float = 0.9  # SGD's momentum
    activation: str = "relu"
    depth: int = 1  # hidden layers of `hidden` units
    init_std: float = 0.0  # > 0: Gaussian initial weights N(0, init_std²) and zero biases; 0: PyTorch's default
    # Whether the hidden Linear layers have a bias. None: unless a normalization follows the Linear
    # directly (its β takes the bias's role; a bias there would be subtracted away with the mean).
    bias: bool | None = None
    # norm "batch" only: "running" normalizes with the running averages while training too (RunningStatsBatchNorm)
    bn_stats: str = "batch"

    def problems(self) -> list[str]:
        """What stops this configuration from training, as message codes (empty: it can train)."""
        found = []
        checks = {
            "dataset": self.dataset in DATASETS,
            "norm": self.norm in NORMS,
            "placement": self.placement in PLACEMENTS,
            "activation": self.activation in ACTIVATIONS,
            "optimizer": self.optimizer in OPTIMIZERS,
            "bn_stats": self.bn_stats in BN_STATS,
            "hidden": HIDDEN_RANGE[0] <= self.hidden <= HIDDEN_RANGE[1],
            "hidden2": self.hidden2 == 0 or HIDDEN_RANGE[0] <= self.hidden2 <= HIDDEN_RANGE[1],
            "depth": DEPTH_RANGE[0] <= self.depth <= DEPTH_RANGE[1],
            "batch_size": BATCH_RANGE[0] <= self.batch_size <= BATCH_RANGE[1],
            "epochs": EPOCH_RANGE[0] <= self.epochs <= EPOCH_RANGE[1],
            "lr": math.isfinite(self.lr) and LR_RANGE[0] <= self.lr <= LR_RANGE[1],
            "dropout": math.isfinite(self.dropout) and 0.0 <= self.dropout <= DROPOUT_MAX,
            "momentum": math.isfinite(self.momentum) and 0.0 <= self.momentum < 1.0,
            "init_std": math.isfinite(self.init_std) and 0.0 <= self.init_std <= INIT_STD_MAX,
            "seed": self.seed >= 0,
        }
        found += [f"bad_{name}" for name, ok in checks.items() if not ok]
        if self.norm in BATCH_STAT_NORMS and self.batch_size == 1:
            found.append("batch_of_one")  # PyTorch: "Expected more than 1 value per channel when training"
        return found

    @property
    def linear_bias(self) -> bool:
        if self.bias is not None:
            return self.bias
        return self.norm in ("none", "weight") or self.placement == "after"

    def twin(self) -> TrainConfig:
        """The same network, data, seed and initial weights without normalization (the pair's baseline)."""
        return replace(self, norm="none")

    @property
    def widths(self) -> list[int]:
        return [self.hidden] * self.depth + ([self.hidden2] if self.hidden2 else [])


# The lesson's presets, each trained as a pair with its twin (the same network without normalization).
PRESETS = {
    # Ioffe and Szegedy (2015), Figure 1: 3 hidden layers of 100 sigmoid units, small Gaussian initial
    # weights, plain SGD on mini-batches of 60, BN before each sigmoid (on the 8x8 digits, not MNIST).
    "figure1": TrainConfig(
        norm="batch",
        activation="sigmoid",
        depth=3,
        hidden=100,
        init_std=0.1,
        optimizer="sgd",
        momentum=0.0,
        lr=0.5,
        batch_size=60,
        epochs=80,
    ),
    # The classic lesson's model: Linear(in → 128, bias=False) → ReLU → BatchNorm1d → Linear(128 → 10).
    "classic": TrainConfig(
        norm="batch", placement="after", hidden=128, bias=False, optimizer="adam", lr=1e-3, epochs=20
    ),
    # A learning rate only BN survives (found by measurement: benchmarks/train_presets.py).
    "high_lr": TrainConfig(norm="batch", depth=3, hidden=100, batch_size=60, lr=0.5, epochs=30),
}


# The `inside` lesson's pair (section "Training vs inference"): this network trained with batch statistics
# and with running statistics (``bn_stats="running"``) from the same weights. Three hidden layers, as
# "high_lr": with one, running statistics cost little (measured: about 97 % against 98 %).
STATS_PAIR = TrainConfig(norm="batch", depth=3, hidden=100, lr=0.03, batch_size=32, epochs=5)


def group_count(width: int) -> int:
    """GroupNorm's number of groups: 8 where the width allows, else the largest of 4, 2, 1 that divides it."""
    return next(g for g in (8, 4, 2, 1) if width % g == 0)


class BatchRenorm(nn.Module):
    """Batch Renormalization (Ioffe 2017) for (N, C) inputs, with fixed r_max and d_max.

    Same formulas as ``bn_core.renorm.batch_renorm``: Algorithm 1 keeps moving averages of
    the mean and of the standard deviation, mu += momentum * (mu_B - mu) and
    sigma += momentum * (sigma_B - sigma) with sigma_B = sqrt(var_B + eps) (momentum is the
    weight of the new batch, as in PyTorch), and infers with y = gamma * (x - mu) / sigma + beta.
    The buffers are ``running_mean`` and ``running_std``; ``running_var`` is the variance
    that sigma stands for (sigma² − eps), for code that reads BatchNorm's buffers."""

    def __init__(self, width: int, r_max: float = 3.0, d_max: float = 5.0, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.r_max, self.d_max, self.momentum, self.eps = r_max, d_max, momentum, eps
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self.register_buffer("running_mean", torch.zeros(width))
        self.register_buffer("running_std", torch.ones(width))
        self.last_r: torch.Tensor | None = None  # (C,) the last training batch's r and d, unclipped
        self.last_d: torch.Tensor | None = None

    @property
    def running_var(self) -> torch.Tensor:
        return self.running_std.square() - self.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return (x - self.running_mean) / self.running_std * self.weight + self.bias
        if x.shape[0] < 2:
            raise ValueError(single_value_message(tuple(x.shape)))
        mean = x.mean(0)
        sigma_b = torch.sqrt(x.var(0, unbiased=False) + self.eps)
        sigma = self.running_std
        # r and d before clipping, kept for experiments that count how often the clip acts
        self.last_r, self.last_d = sigma_b.detach() / sigma, (mean.detach() - self.running_mean) / sigma
        r = self.last_r.clamp(1.0 / self.r_max, self.r_max)
        d = self.last_d.clamp(-self.d_max, self.d_max)
        x_hat = (x - mean) / sigma_b * r + d
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_std.lerp_(sigma_b, self.momentum)
        return x_hat * self.weight + self.bias


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from a given generator (``nn.Dropout`` uses torch's global one)."""

    def __init__(self, rate: float, generator: torch.Generator):
        super().__init__()
        self.rate = rate
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= self.rate
        return x * keep / (1.0 - self.rate)


class RunningStatsBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d that normalizes with its running statistics while training, too: close to the
    mistake of a model left in eval mode, or with frozen statistics, while it trains (there the
    averages do not even move; Ioffe and Szegedy, 2015, section 2, explain why it fails). Each
    training batch first updates the running averages as ``nn.BatchNorm1d`` does in training
    (momentum weighs the new batch, the unbiased variance is stored), then x is normalized with
    them as constants: the forward is ``nn.BatchNorm1d``'s in eval mode with the updated buffers,
    and no gradient flows through the statistics. In eval mode it is ``nn.BatchNorm1d``.

    Shape: (N, C) -> (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            if x.shape[0] < 2:  # the unbiased variance of one value is undefined, as in nn.BatchNorm1d
                raise ValueError(single_value_message(tuple(x.shape)))
            with torch.no_grad():  # the update of nn.BatchNorm1d's training mode, output discarded
                F.batch_norm(x, self.running_mean, self.running_var, None, None, True, self.momentum, self.eps)
                self.num_batches_tracked.add_(1)
        return frozen_batch_norm(self, x)


def frozen_batch_norm(norm: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:  # (N, C) -> (N, C)
    """``norm`` normalizing ``x`` with its running statistics, held constant (eval mode's forward)."""
    return F.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias, training=False, eps=norm.eps)


def norm_layer(norm: str, width: int, bn_stats: str = "batch") -> nn.Module:
    return {
        "none": nn.Identity,
        "batch": lambda: RunningStatsBatchNorm(width) if bn_stats == "running" else nn.BatchNorm1d(width),
        "layer": lambda: nn.LayerNorm(width),
        "group": lambda: nn.GroupNorm(group_count(width), width),
        "renorm": lambda: BatchRenorm(width),
        "weight": nn.Identity,  # the Linear before it is a WeightNormLinear (see HiddenBlock)
    }[norm]()


ACTIVATION_FUNCTIONS = {"relu": F.relu, "sigmoid": torch.sigmoid}


class HiddenBlock(nn.Module):
    """Linear → [norm] → activation → [norm] → dropout; the norm sits on one side of the activation."""

    def __init__(self, n_in: int, width: int, config: TrainConfig, generator: torch.Generator):
        super().__init__()
        linear = WeightNormLinear if config.norm == "weight" else nn.Linear
        self.linear = nn.utils.skip_init(linear, n_in, width, bias=config.linear_bias)  # initialized by DigitNN
        self.norm = norm_layer(config.norm, width, config.bn_stats)
        self.act = ACTIVATION_FUNCTIONS[config.activation]
        self.before = config.placement == "before"
        self.dropout = SeededDropout(config.dropout, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        h = self.act(self.norm(z)) if self.before else self.norm(self.act(z))
        return self.dropout(h)

    def stages(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(entering the norm, leaving it, the block's output without dropout) for a probe batch,
        with the normalization as it works while training (batch statistics), but without
        updating any running statistics."""
        z = self.linear(x)
        pre = z if self.before else self.act(z)
        post = normalize_as_training(self.norm, pre)
        return pre, post, self.act(post) if self.before else post


def normalize_as_training(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:  # (N, C) -> (N, C)
    """What ``norm`` does to ``x`` in training mode, its running statistics untouched. Batch Renorm
    is shown as BatchNorm (r = 1, d = 0): its correction depends on the running statistics."""
    if isinstance(norm, RunningStatsBatchNorm):
        return frozen_batch_norm(norm, x)
    if isinstance(norm, nn.BatchNorm1d | BatchRenorm):
        return F.batch_norm(x, None, None, norm.weight, norm.bias, training=True, eps=norm.eps)
    return norm(x)


class DigitNN(nn.Module):
    """The lesson's model: ``config.widths`` hidden blocks, then Linear(last width → 10)."""

    def __init__(self, n_inputs: int, config: TrainConfig, generator: torch.Generator | None = None):
        super().__init__()
        generator = generator if generator is not None else torch.Generator().manual_seed(config.seed)
        blocks, n_in = [], n_inputs
        for width in config.widths:
            blocks.append(HiddenBlock(n_in, width, config, generator))
            n_in = width
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.utils.skip_init(nn.Linear, n_in, CLASSES)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                init_linear(module, generator, config.init_std)
            if isinstance(module, WeightNormLinear):
                module.reset_g()  # w = v at the start: the same function as the twin without normalization

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.out(x)


def init_linear(layer: nn.Linear, generator: torch.Generator, std: float = 0.0) -> None:
    """PyTorch's default initialization of a Linear layer (``std`` = 0), or Gaussian weights
    N(0, std²) with zero biases, drawn from ``generator``. A bias is drawn even where the
    layer has none, so that a network and its twin without normalization (which keeps its
    biases) draw the same weights."""
    bound = 1.0 / math.sqrt(layer.in_features)
    if std > 0:
        nn.init.normal_(layer.weight, 0.0, std, generator=generator)
    else:
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    bias = torch.empty(layer.out_features).uniform_(-bound, bound, generator=generator)
    if layer.bias is not None:
        with torch.no_grad():
            layer.bias.copy_(torch.zeros_like(bias) if std > 0 else bias)


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


@dataclass
class EpochRecord:
    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float  # since the run started
    running_mean: np.ndarray | None = None  # (PROBE_UNITS,) BatchNorm/Renorm's, first hidden layer
    running_var: np.ndarray | None = None


@dataclass
class Measure:
    """The network measured after ``step`` batches (step 0: the initial weights)."""

    step: int
    epoch: int  # the epoch this step belongs to (1-based; 0 at step 0)
    train_loss: float  # mean loss of the batches since the previous measure (nan at step 0)
    val_loss: float
    val_accuracy: float
    test_accuracy: float
    # (layers, 2, PROBE_UNITS, len(QUANTILES)): the percentiles of each probed unit's values over the
    # probe images, entering [:, 0] and leaving [:, 1] the normalization (the same values without one)
    quantiles: np.ndarray
    samples: np.ndarray | None = None  # (layers, 2, PROBE_SIZE, PROBE_UNITS) float32, at a few steps only


@dataclass
class History:
    config: TrainConfig
    epochs: list[EpochRecord] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    test_accuracy: float | None = None
    test_predictions: np.ndarray | None = None  # (n_test,) predicted class per test image
    # None: ran every epoch; "user": stopped; "cap": a server's limit on a run; "diverged": see DIVERGED_LOSS
    stopped: str | None = None
    diverged_at: int | None = None  # the epoch in which the loss became non-finite or exceeded DIVERGED_LOSS
    diverged_loss: float | None = None  # that batch's loss
    seconds: float = 0.0
    model: nn.Module | None = None  # trained, in eval mode

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(e, name) for e in self.epochs], dtype=np.float64)

    def measured(self, name: str) -> np.ndarray:
        return np.array([getattr(m, name) for m in self.measures], dtype=np.float64)


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


def steps_to(history: History, accuracy: float, name: str = "val_accuracy") -> int | None:
    """The first measured step at which ``name`` reached ``accuracy`` (None: never)."""
    reached = [m.step for m in history.measures if getattr(m, name) >= accuracy]
    return reached[0] if reached else None


def drift(history: History, layer: int = -1, unit: int = 0) -> float:
    """How far a unit's median wandered over the run, leaving the normalization (the input to the
    nonlinearity when the normalization sits before it, as in Figure 1(b, c)): the range of its
    median over all measures divided by its initial 15th-85th percentile spread."""
    q = np.array([m.quantiles[layer, 1, unit] for m in history.measures])  # (measures, 3)
    spread = q[0, 2] - q[0, 0]
    return float(np.ptp(q[:, 1]) / spread)


@dataclass(frozen=True)
class Gap:
    """The same weights on the same images in training mode and in eval mode."""

    batch_size: int
    train_accuracy: float  # training mode: each batch of ``batch_size`` normalized with its own statistics
    eval_accuracy: float  # eval mode: normalized with the running statistics
    train_loss: float
    eval_loss: float

    @property
    def accuracy_gap(self) -> float:
        return self.eval_accuracy - self.train_accuracy


def train_eval_gap(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0) -> Gap:
    """``model`` on images ``x`` (N, features) with labels ``y`` (N,), in training mode on shuffled
    batches of ``batch_size`` (a last batch of one joins the one before, as in training) against eval
    mode on all of them. Training mode is the normalization's only: dropout stays off. A copy runs,
    so the model and its running statistics are left as they were."""
    if batch_size < 2:
        raise ValueError("training mode needs batches of at least 2: " + single_value_message((1, 1)))
    x_t, y_t = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    twin = copy.deepcopy(model).train()
    for module in twin.modules():
        if isinstance(module, SeededDropout):
            module.eval()
    order = batches(len(y_t), batch_size, torch.Generator().manual_seed(seed), merge_single=True)
    with torch.no_grad():
        logits = torch.cat([twin(x_t[idx]) for idx in order])
        targets = torch.cat([y_t[idx] for idx in order])
        train_loss = F.cross_entropy(logits, targets).item()
        train_accuracy = (logits.argmax(1) == targets).float().mean().item()
    eval_loss, eval_accuracy, _ = evaluate(copy.deepcopy(model), x_t, y_t)
    return Gap(batch_size, train_accuracy, eval_accuracy, train_loss, eval_loss)


def weights_of(model: nn.Module) -> dict[str, np.ndarray]:
    """A model's state as NumPy arrays (cheap to send between processes)."""
    return {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}


def model_from(config: TrainConfig, n_inputs: int, weights: dict[str, np.ndarray]) -> DigitNN:
    model = DigitNN(n_inputs, config)
    model.load_state_dict({name: torch.from_numpy(np.asarray(value)) for name, value in weights.items()})
    return model.eval()


def probabilities(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """Class probabilities for flat images (n, h*w), in eval mode."""
    model.eval()
    with torch.no_grad():
        return F.softmax(model(as_tensor(images)), dim=1).numpy()


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """counts[i, j]: images of class i predicted as j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(truth), np.asarray(predicted)), 1)
    return counts


def history_csv(history: History) -> str:
    """Per-epoch history as CSV text (for download)."""
    names = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")
    lines = [",".join(names)]
    for e in history.epochs:
        lines.append(",".join(str(getattr(e, n)) if n == "epoch" else repr(float(getattr(e, n))) for n in names))
    return "\n".join(lines) + "\n"
