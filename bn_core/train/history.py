"""What a run leaves: a record per epoch, the measures taken while it trains (``Measure``), the whole
``History``, and what the lessons read off it (steps to an accuracy, drift, a CSV)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from torch import nn

from bn_core.train.config import TrainConfig


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


def history_csv(history: History) -> str:
    """Per-epoch history as CSV text (for download)."""
    names = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")
    lines = [",".join(names)]
    for e in history.epochs:
        lines.append(",".join(str(getattr(e, n)) if n == "epoch" else repr(float(getattr(e, n))) for n in names))
    return "\n".join(lines) + "\n"
