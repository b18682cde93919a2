"""Batch Normalization as PyTorch and Keras 3 really compute it, in NumPy.

The algorithm is Ioffe and Szegedy (2015), "Batch Normalization: Accelerating
Deep Network Training by Reducing Internal Covariate Shift", Algorithm 1:

    mu    = mean(x)                      over every axis but the channel axis
    var   = mean((x - mu)**2)            biased: divide by m, not m - 1
    x_hat = (x - mu) / sqrt(var + eps)
    y     = gamma * x_hat + beta

The frameworks agree on that and disagree on the bookkeeping around it (see
``CONVENTIONS``): what "momentum" weighs, which variance is stored, the
defaults, and what a call without ``training`` means. The functions here are
pure; ``BatchNorm`` is the thin stateful layer that owns the running
statistics, like ``torch.nn.BatchNorm*d`` around ``torch.nn.functional.batch_norm``.
"""

from bn_core.batchnorm.conventions import (
    CONVENTIONS,
    Convention,
    ConventionName,
    pytorch_to_keras_momentum,
    single_value_message,
)
from bn_core.batchnorm.functional import (
    batch_norm_backward,
    batch_stats,
    channel_view,
    momentum_update,
    normalize,
    reduced_axes,
    values_per_channel,
)
from bn_core.batchnorm.layer import BatchNorm

__all__ = [
    "CONVENTIONS",
    "BatchNorm",
    "Convention",
    "ConventionName",
    "batch_norm_backward",
    "batch_stats",
    "channel_view",
    "momentum_update",
    "normalize",
    "pytorch_to_keras_momentum",
    "reduced_axes",
    "single_value_message",
    "values_per_channel",
]
