"""What a training run is: its settings (``TrainConfig``), their ranges, and the presets the lessons use."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bn_core.data import DATASETS

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
