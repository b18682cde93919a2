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
measures, paces and reports per epoch). One experiment per module: ``sweep``, ``renorm``, ``lr``; what they
share is in ``common``.
"""

from bn_core.experiments.common import (
    D_BINS,
    PHASES,
    R_BINS,
    REFERENCE_BATCH,
    SEEDS,
    SIZE_RANGE,
    TRACE_POINTS,
    Fit,
    Progress,
    Stopped,
    config_from,
    config_hash,
    fit,
    model_problems,
    scaled_lr,
    thin,
    total_steps,
    train_mode_error,
    val_error,
)
from bn_core.experiments.lr import (
    LrConfig,
    LrResult,
    lr_robustness,
)
from bn_core.experiments.renorm import (
    RenormConfig,
    RenormResult,
    renorm_trace,
)
from bn_core.experiments.sweep import (
    SweepConfig,
    SweepResult,
    batch_size_sweep,
)

__all__ = [
    "D_BINS",
    "Fit",
    "LrConfig",
    "LrResult",
    "PHASES",
    "Progress",
    "REFERENCE_BATCH",
    "R_BINS",
    "RenormConfig",
    "RenormResult",
    "SEEDS",
    "SIZE_RANGE",
    "Stopped",
    "SweepConfig",
    "SweepResult",
    "TRACE_POINTS",
    "batch_size_sweep",
    "config_from",
    "config_hash",
    "fit",
    "lr_robustness",
    "model_problems",
    "renorm_trace",
    "scaled_lr",
    "thin",
    "total_steps",
    "train_mode_error",
    "val_error",
]
