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
    mean_sd: np.ndarray  # (S,) standard deviation of one device's mean estimate
    var_sd: np.ndarray  # (S,) standard deviation of one device's (biased) variance estimate


def estimate_spread(sizes: Sequence[int], trials: int, seed: int) -> Spread:
    """How much one device's statistics scatter around the truth (a unit normal population,
    mean 0 and variance 1), from ``trials`` batches of each size. In theory the mean's
    standard deviation is 1/sqrt(b), the biased variance's sqrt(2 (b - 1)) / b."""
    rng = np.random.default_rng(seed)
    mean_sd, var_sd = [], []
    for b in sizes:
        x = rng.standard_normal((trials, b))
        mean_sd.append(x.mean(axis=1).std())
        var_sd.append(x.var(axis=1).std())
    return Spread(np.asarray(sizes), np.asarray(mean_sd), np.asarray(var_sd))
