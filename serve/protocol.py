"""The messages between the runner (serve.runner) and its worker processes (serve.worker), sent through a
multiprocessing pipe (pickled). The runner sends a worker ``Start`` and ``Stop`` for a run, and ``None`` when the
worker should end. A worker reports on each run, tagged with its id: its data's shape once (``Data``), then its
``Progress``, each ``Measured`` measure and each ``Epoch``, and last one of ``Trained`` (a training run),
``Computed`` (an experiment) or ``Failed``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Start:
    run_id: str
    config: Any  # a TrainConfig, or a serve.jobs.Job (an experiment)
    directory: str | None  # the MNIST folder, for a run on MNIST
    max_seconds: float
    max_steps: int


@dataclass(frozen=True)
class Stop:
    run_id: str


@dataclass(frozen=True)
class Data:
    run_id: str
    n_inputs: int
    image_shape: tuple[int, int]


@dataclass(frozen=True)
class Progress:
    run_id: str
    done: int
    total: int
    step_seconds: float | None


@dataclass(frozen=True)
class Measured:
    run_id: str
    measure: Any  # a bn_core.train.Measure


@dataclass(frozen=True)
class Epoch:
    run_id: str
    record: Any  # a bn_core.train.EpochRecord


@dataclass(frozen=True)
class Trained:
    run_id: str
    history: Any  # a bn_core.train.History without its model (a model does not pickle small): the runner rebuilds it
    weights: dict | None  # the model's weights, from which the runner rebuilds it (None once it has)
    n_inputs: int
    seconds: float


@dataclass(frozen=True)
class Computed:
    run_id: str
    result: Any  # an experiment's result (bn_core.experiments, bn_core.smoothness)
    seconds: float


@dataclass(frozen=True)
class Failed:
    run_id: str
    reason: str  # "crash", "stopped", a limit's name, or bn_core.data.DataUnavailable's reason
    detail: str


Report = Data | Progress | Measured | Epoch | Trained | Computed | Failed
LAST = (Trained, Computed, Failed)  # a run's last report: its worker has room for another
