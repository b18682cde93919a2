"""Train the `train` lesson's digit classifier, with or without a normalization layer.

    >>> from bn_core.train import TrainConfig, train
    >>> history = train(TrainConfig(norm="batch", epochs=5))
    >>> history.test_accuracy

Every random draw (initial weights, shuffling, dropout) comes from one
``torch.Generator`` seeded with ``config.seed``: a run is reproducible from its
configuration, and two runs in the same process do not disturb each other.
Torch's global random state is never touched.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from bn_core.batchnorm import single_value_message
from bn_core.data import DATASETS, Dataset, load

NORMS = ("none", "batch", "layer", "group", "renorm")
BATCH_STAT_NORMS = ("batch", "renorm")  # normalize with the batch's statistics while training
PLACEMENTS = ("before", "after")  # the normalization before or after the ReLU
OPTIMIZERS = ("sgd", "adam")
HIDDEN_RANGE = (16, 512)
BATCH_RANGE = (1, 512)
EPOCH_RANGE = (1, 50)
LR_RANGE = (1e-5, 10.0)
DROPOUT_MAX = 0.9
PROBE_SIZE = 256  # validation images whose hidden values are recorded each epoch
PROBE_UNITS = 4  # hidden units recorded (values, running statistics)
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
    hidden2: int = 0  # a second hidden layer's width; 0 = none
    momentum: float = 0.9  # SGD's momentum

    def problems(self) -> list[str]:
        """What stops this configuration from training, as message codes (empty: it can train)."""
        found = []
        checks = {
            "dataset": self.dataset in DATASETS,
            "norm": self.norm in NORMS,
            "placement": self.placement in PLACEMENTS,
            "optimizer": self.optimizer in OPTIMIZERS,
            "hidden": HIDDEN_RANGE[0] <= self.hidden <= HIDDEN_RANGE[1],
            "hidden2": self.hidden2 == 0 or HIDDEN_RANGE[0] <= self.hidden2 <= HIDDEN_RANGE[1],
            "batch_size": BATCH_RANGE[0] <= self.batch_size <= BATCH_RANGE[1],
            "epochs": EPOCH_RANGE[0] <= self.epochs <= EPOCH_RANGE[1],
            "lr": math.isfinite(self.lr) and LR_RANGE[0] <= self.lr <= LR_RANGE[1],
            "dropout": math.isfinite(self.dropout) and 0.0 <= self.dropout <= DROPOUT_MAX,
            "momentum": math.isfinite(self.momentum) and 0.0 <= self.momentum < 1.0,
            "seed": self.seed >= 0,
        }
        found += [f"bad_{name}" for name, ok in checks.items() if not ok]
        if self.norm in BATCH_STAT_NORMS and self.batch_size == 1:
            found.append("batch_of_one")  # PyTorch: "Expected more than 1 value per channel when training"
        return found


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
        r = (sigma_b.detach() / sigma).clamp(1.0 / self.r_max, self.r_max)
        d = ((mean.detach() - self.running_mean) / sigma).clamp(-self.d_max, self.d_max)
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


def norm_layer(norm: str, width: int) -> nn.Module:
    return {
        "none": nn.Identity,
        "batch": lambda: nn.BatchNorm1d(width),
        "layer": lambda: nn.LayerNorm(width),
        "group": lambda: nn.GroupNorm(group_count(width), width),
        "renorm": lambda: BatchRenorm(width),
    }[norm]()


class HiddenBlock(nn.Module):
    """Linear(bias=False) → [norm] → ReLU → [norm] → dropout; the norm sits on one side of the ReLU."""

    def __init__(self, n_in: int, width: int, config: TrainConfig, generator: torch.Generator):
        super().__init__()
        self.linear = nn.utils.skip_init(nn.Linear, n_in, width, bias=False)  # initialized by DigitNN
        self.norm = norm_layer(config.norm, width)
        self.before = config.placement == "before"
        self.dropout = SeededDropout(config.dropout, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        h = F.relu(self.norm(z)) if self.before else self.norm(F.relu(z))
        return self.dropout(h)


class DigitNN(nn.Module):
    """The lesson's model: one or two hidden blocks, then Linear(hidden → 10)."""

    def __init__(self, n_inputs: int, config: TrainConfig, generator: torch.Generator | None = None):
        super().__init__()
        generator = generator if generator is not None else torch.Generator().manual_seed(config.seed)
        widths = [config.hidden] + ([config.hidden2] if config.hidden2 else [])
        blocks, n_in = [], n_inputs
        for width in widths:
            blocks.append(HiddenBlock(n_in, width, config, generator))
            n_in = width
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.utils.skip_init(nn.Linear, n_in, CLASSES)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                init_linear(module, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.out(x)


def init_linear(layer: nn.Linear, generator: torch.Generator) -> None:
    """PyTorch's default initialization of a Linear layer, drawn from ``generator``."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if layer.bias is not None:
        bound = 1.0 / math.sqrt(layer.in_features)
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


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
    probe_z: np.ndarray  # (PROBE_SIZE, PROBE_UNITS): first hidden layer's Linear output, eval mode
    probe_h: np.ndarray  # what the next layer receives from those units, eval mode
    running_mean: np.ndarray | None = None  # (PROBE_UNITS,) BatchNorm/Renorm's, first hidden layer
    running_var: np.ndarray | None = None


@dataclass
class History:
    config: TrainConfig
    epochs: list[EpochRecord] = field(default_factory=list)
    test_accuracy: float | None = None
    test_predictions: np.ndarray | None = None  # (n_test,) predicted class per test image
    stopped: str | None = None  # None: ran every epoch; "user": stopped; "diverged": see DIVERGED_LOSS
    diverged_at: int | None = None  # the epoch in which the loss became non-finite or exceeded DIVERGED_LOSS
    diverged_loss: float | None = None  # that batch's loss
    seconds: float = 0.0
    model: nn.Module | None = None  # trained, in eval mode

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(e, name) for e in self.epochs], dtype=np.float64)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """Loss, accuracy and predicted classes in eval mode."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y).item()
        predicted = logits.argmax(1)
    return loss, (predicted == y).float().mean().item(), predicted


def probe(model: DigitNN, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    model.eval()
    block = model.blocks[0]
    with torch.no_grad():
        z = block.linear(x)
        h = block(x)
    stats = [getattr(block.norm, name, None) for name in ("running_mean", "running_var")]
    stats = [None if s is None else s[:PROBE_UNITS].numpy().copy() for s in stats]
    return z[:, :PROBE_UNITS].numpy().copy(), h[:, :PROBE_UNITS].numpy().copy(), stats[0], stats[1]


def train(
    config: TrainConfig,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    data: Dataset | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> History:
    """Train DigitNN on ``config.dataset`` (or ``data``). ``should_stop`` is asked
    before every batch; ``on_progress(done, total)`` hears about every batch."""
    problems = config.problems()
    if problems:
        raise ValueError(f"cannot train with this configuration: {', '.join(problems)}")
    data = data if data is not None else load(config.dataset)
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(config.seed)
    model = DigitNN(data.n_inputs, config, generator)
    optimizer = make_optimizer(model, config)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    x_probe = x_val[:PROBE_SIZE]
    merge = config.norm in BATCH_STAT_NORMS
    steps_per_epoch = len(batches(len(y_train), config.batch_size, torch.Generator(), merge))
    total, done = steps_per_epoch * config.epochs, 0
    history = History(config)

    for epoch in range(1, config.epochs + 1):
        model.train()
        loss_sum, seen, outputs, targets = 0.0, 0, [], []
        for idx in batches(len(y_train), config.batch_size, generator, merge):
            if should_stop is not None and should_stop():
                history.stopped = "user"
                break
            xb, yb = x_train[idx], y_train[idx]
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
            outputs.append(logits.detach())  # accuracy once per epoch: four tensor ops per batch cost 6 %
            targets.append(yb)
            seen += len(idx)
            done += 1
            if on_progress is not None:
                on_progress(done, total)
        if history.stopped is not None:
            break
        correct = int((torch.cat(outputs).argmax(1) == torch.cat(targets)).sum())
        val_loss, val_acc, _ = evaluate(model, x_val, y_val)
        z, h, running_mean, running_var = probe(model, x_probe)
        record = EpochRecord(
            epoch, loss_sum / seen, correct / seen, val_loss, val_acc, time.perf_counter() - started, z, h
        )
        record.running_mean, record.running_var = running_mean, running_var
        history.epochs.append(record)
        if on_epoch is not None:
            on_epoch(record)

    if history.stopped != "diverged":
        _, test_acc, predicted = evaluate(model, torch.from_numpy(data.x_test), torch.from_numpy(data.y_test))
        history.test_accuracy, history.test_predictions = test_acc, predicted.numpy()
    model.eval()
    history.model = model
    history.seconds = time.perf_counter() - started
    return history


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
        return F.softmax(model(torch.from_numpy(np.asarray(images, np.float32))), dim=1).numpy()


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
