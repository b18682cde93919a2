"""A run's record: what a page shows about a run, computing or finished (``RunView``), the key a record
is found by (a digest of the configuration that determines the run) and its size in the store.

A record is shared by every page that asks for the same configuration: never change one.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field

from bn_core.train import EpochRecord, History, Measure, TrainConfig
from serve.jobs import Job


@dataclass
class RunView:
    """What a page shows about a run: a snapshot, safe to keep and to share (never change one)."""

    run_id: str  # the record's key (run_key)
    config: TrainConfig | Job
    state: str  # "queued" | "running" | "finished" | "failed"
    place: int | None = None  # 1-based place in the queue while queued
    epochs: list[EpochRecord] = field(default_factory=list)
    done: int = 0  # batches computed
    total: int = 0  # batches in the whole run (0 until the worker knows)
    seconds_left: float | None = None  # computing: estimated seconds to the end (None: not known yet)
    history: History | None = None  # once finished, with its model rebuilt
    error: str | None = None  # failed: a reason code (DataUnavailable's, "crash", "stopped", "cap")
    detail: str = ""
    image_shape: tuple[int, int] | None = None
    measures: list[Measure] = field(default_factory=list)
    step_seconds: float | None = None  # the worker's measured time per step (training and measuring)
    wait_seconds: float | None = None  # queued: estimated seconds until it starts (None: not known)
    result: object = None  # a finished experiment's result (a Job's run; a training run has its history)
    compute_seconds: float | None = None  # how long the worker took (a finished run)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")


def run_key(config: TrainConfig | Job, mnist_directory: str | None = None) -> str:
    """The record's key: a digest of everything that determines the run (a frozen dataclass's repr
    names every field and value)."""
    return hashlib.sha256(repr((config, mnist_directory)).encode()).hexdigest()[:20]


def record_size(view: RunView) -> int:
    """Bytes a record holds (its pickle: measures, probed samples, weights)."""
    return len(pickle.dumps(view, protocol=pickle.HIGHEST_PROTOCOL))
