"""Train the `train` lesson's digit classifier, with or without a normalization layer. The package's modules:
``config`` (the settings and presets), ``layers`` (the network), ``loop`` (``train``), ``history`` (what a run
leaves) and ``analysis`` (a trained model, looked at).

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

from bn_core.train.analysis import (
    Gap,
    confusion_matrix,
    model_from,
    probabilities,
    train_eval_gap,
    weights_of,
)
from bn_core.train.config import (
    ACTIVATIONS,
    BATCH_RANGE,
    BATCH_STAT_NORMS,
    BN_STATS,
    CLASSES,
    DEPTH_RANGE,
    DIVERGED_LOSS,
    DROPOUT_MAX,
    EPOCH_RANGE,
    EVAL_CHUNK,
    HIDDEN_RANGE,
    INIT_STD_MAX,
    LR_RANGE,
    MEASURE_SIZE,
    MEASURES,
    MEASURES_KEPT,
    NORMS,
    OPTIMIZERS,
    PLACEMENTS,
    PRESETS,
    PROBE_SIZE,
    PROBE_UNITS,
    QUANTILES,
    SNAPSHOTS,
    STATS_PAIR,
    TrainConfig,
)
from bn_core.train.history import (
    EpochRecord,
    History,
    Measure,
    drift,
    history_csv,
    steps_to,
)
from bn_core.train.layers import (
    ACTIVATION_FUNCTIONS,
    BatchRenorm,
    DigitNN,
    HiddenBlock,
    RunningStatsBatchNorm,
    SeededDropout,
    frozen_batch_norm,
    group_count,
    init_linear,
    norm_layer,
    normalize_as_training,
)
from bn_core.train.loop import (
    as_tensor,
    batches,
    evaluate,
    keep_measure,
    make_optimizer,
    measure_interval,
    probe_layers,
    quantiles_of,
    snapshot_steps,
    steps_per_epoch,
    train,
    unit_batch,
)

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_FUNCTIONS",
    "BATCH_RANGE",
    "BATCH_STAT_NORMS",
    "BN_STATS",
    "BatchRenorm",
    "CLASSES",
    "DEPTH_RANGE",
    "DIVERGED_LOSS",
    "DROPOUT_MAX",
    "DigitNN",
    "EPOCH_RANGE",
    "EVAL_CHUNK",
    "EpochRecord",
    "Gap",
    "HIDDEN_RANGE",
    "HiddenBlock",
    "History",
    "INIT_STD_MAX",
    "LR_RANGE",
    "MEASURES",
    "MEASURES_KEPT",
    "MEASURE_SIZE",
    "Measure",
    "NORMS",
    "OPTIMIZERS",
    "PLACEMENTS",
    "PRESETS",
    "PROBE_SIZE",
    "PROBE_UNITS",
    "QUANTILES",
    "RunningStatsBatchNorm",
    "SNAPSHOTS",
    "STATS_PAIR",
    "SeededDropout",
    "TrainConfig",
    "as_tensor",
    "batches",
    "confusion_matrix",
    "drift",
    "evaluate",
    "frozen_batch_norm",
    "group_count",
    "history_csv",
    "init_linear",
    "keep_measure",
    "make_optimizer",
    "measure_interval",
    "model_from",
    "norm_layer",
    "normalize_as_training",
    "probabilities",
    "probe_layers",
    "quantiles_of",
    "snapshot_steps",
    "steps_per_epoch",
    "steps_to",
    "train",
    "train_eval_gap",
    "unit_batch",
    "weights_of",
]
