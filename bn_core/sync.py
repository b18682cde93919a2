"""BatchNorm's statistics across several devices, as ``torch.nn.SyncBatchNorm`` merges them.

With data parallelism each device sees only its part of the batch. Plain BN normalizes
each part with its own statistics; SyncBatchNorm gathers every device's (mean, variance,
count) and merges them into the statistics of the whole batch. The merge is the
parallel-variance formula (Chan, Golub and LeVeque, 1979), which PyTorch's
``batch_norm_gather_stats_with_counts`` computes:

    n    = sum n_i
    mean = sum n_i * mean_i / n
    var  = sum n_i * (var_i + (mean_i - mean)**2) / n      (biased variances)

Averaging the variances instead misses the second term, the spread between the devices'
means, and averaging means is only right when every device has the same count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import batch_stats, values_per_channel


@dataclass(frozen=True)
class Moments:
    """One device's per-channel statistics: what SyncBatchNorm sends to the others."""

    mean: np.ndarray  # (C,)
    var: np.ndarray  # (C,) biased
    count: int  # values per channel behind them


def moments(x: np.ndarray) -> Moments:
    """Statistics of x (N, C, *spatial) per channel."""
    mean, var = batch_stats(x, axis=1)
    return Moments(mean, var, values_per_channel(x.shape, 1))


def merge(parts: Sequence[Moments]) -> Moments:
    """The whole batch's statistics from every device's (mean, var, count)."""
    counts = np.array([p.count for p in parts], np.float64)[:, None]  # (k, 1)
    means = np.stack([p.mean for p in parts])  # (k, C)
    variances = np.stack([p.var for p in parts])
    n = counts.sum()
    mean = (counts * means).sum(axis=0) / n
    var = (counts * (variances + (means - mean) ** 2)).sum(axis=0) / n
    return Moments(mean, var, int(n))


def naive_merge(parts: Sequence[Moments]) -> Moments:
    """The tempting shortcut: average the means and the variances."""
    return Moments(
        np.mean([p.mean for p in parts], axis=0),
        np.mean([p.var for p in parts], axis=0),
        int(sum(p.count for p in parts)),
    )


def device_batches(k: int, per_device: int, c: int, shift: float, seed: int) -> list[np.ndarray]:
    """k shards of (per_device, C) from N(0, 1), device d's shifted by ``shift * (d - (k - 1) / 2)``:
    shards that differ, as when a data loader does not shuffle across devices."""
    rng = np.random.default_rng(seed)
    return [rng.normal(shift * (d - (k - 1) / 2), 1.0, size=(per_device, c)) for d in range(k)]


@dataclass(frozen=True)
class Spread:
    sizes: np.ndarray  # (S,) per-device batch sizes
    mean_error: np.ndarray  # (S,) root-mean-square error of one device's mean
    var_error: np.ndarray  # (S,) root-mean-square error of one device's (biased) variance, its bias included


def estimate_spread(sizes: Sequence[int], trials: int, seed: int) -> Spread:
    """How far one device's statistics are from the truth (a unit normal population, mean 0 and variance 1), as
    the root-mean-square error over ``trials`` batches of each size. In theory the mean's is 1/sqrt(b); the biased
    variance's is sqrt(2b - 1)/b, its spread sqrt(2(b - 1))/b and its bias -1/b: at b = 1 the variance is always 0,
    off by the whole 1 (a standard deviation would say 0: never wrong)."""
    rng = np.random.default_rng(seed)
    mean_error, var_error = [], []
    for b in sizes:
        x = rng.standard_normal((trials, b))
        mean_error.append(np.sqrt(np.mean(x.mean(axis=1) ** 2)))
        var_error.append(np.sqrt(np.mean((x.var(axis=1) - 1.0) ** 2)))
    return Spread(np.asarray(sizes), np.asarray(mean_error), np.asarray(var_error))
