"""BatchNorm as noise: a sample's output depends on the rest of its batch, and dropout
before BN shifts the variance BN's running statistics learn.

- The same sample x0 in different random batches of size B comes out different,
  because mu_B and sigma_B^2 do: a regularizing noise that shrinks roughly as 1/sqrt(B).
- Dropout (inverted: kept values scaled by 1/(1 - p), as ``torch.nn.Dropout``) keeps the
  mean and raises the variance in training. BN after it stores that larger variance in
  its running statistics; at inference dropout is off, the variance is smaller, and BN
  scales it down further ("variance shift": Li, Chen, Hu and Yang, 2019).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import BatchNorm


def same_sample_outputs(x0: float, batch_size: int, trials: int, seed: int) -> np.ndarray:
    """BN's training-mode output (gamma 1, beta 0, eps 1e-5) for the sample x0 placed in
    ``trials`` batches whose other B - 1 samples are drawn from N(0, 1). Shape (trials,)."""
    if batch_size < 2:
        raise ValueError("a batch of one has no batch statistics to vary")
    others = np.random.default_rng(seed).standard_normal((trials, batch_size - 1))
    batch = np.concatenate([np.full((trials, 1), float(x0)), others], axis=1)  # (trials, B)
    mean, var = batch.mean(axis=1), batch.var(axis=1)
    return (x0 - mean) / np.sqrt(var + 1e-5)


def noise_by_batch_size(x0: float, sizes: Sequence[int], trials: int, seed: int) -> np.ndarray:
    """Standard deviation of x0's output over random batches, per batch size (S,)."""
    return np.array([same_sample_outputs(x0, b, trials, seed + b).std() for b in sizes])


def dropout(x: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Inverted dropout in training: zero each value with probability p, scale the rest by 1/(1 - p)."""
    if p <= 0:
        return x.copy()
    return np.where(rng.random(x.shape) >= p, x / (1.0 - p), 0.0)


@dataclass(frozen=True)
class VarianceShift:
    p: float
    train_var: float  # variance BN sees in training (dropout on), measured
    train_var_theory: float  # (sigma^2 + mu^2) / (1 - p) - mu^2
    running_var: float  # what BN stored (PyTorch: unbiased, cumulative average over the batches)
    eval_var: float  # variance BN sees at inference (dropout off), measured
    eval_output_std: float  # standard deviation of BN's output at inference: 1 would be right


def dropped_batches(
    p: float, mu: float, sigma: float, batches: int, batch_size: int, rng: np.random.Generator
) -> np.ndarray:
    """``batches`` training batches of dropout(x), x ~ N(mu, sigma^2), one unit: (batches, batch_size, 1)."""
    return dropout(rng.normal(mu, sigma, size=(batches, batch_size, 1)), p, rng)


def variance_shift(
    p: float, mu: float, sigma: float, batches: int = 200, batch_size: int = 64, seed: int = 0
) -> VarianceShift:
    """Train a BN (one unit, PyTorch conventions, cumulative running average) on ``batches``
    batches of dropout(x), x ~ N(mu, sigma^2), then run it in eval mode on fresh x without
    dropout. The batches' statistics are computed at once and the layer takes them one
    training step at a time (as calling it on each batch would, for a fifth of the time:
    the page computes this for six settings when a slider moves)."""
    rng = np.random.default_rng(seed)
    seen = dropped_batches(p, mu, sigma, batches, batch_size, rng)
    bn = BatchNorm(1, momentum=None)
    for mean, var in zip(seen.mean(axis=1), seen.var(axis=1), strict=True):
        bn.update_running(mean, var, batch_size)
    fresh = rng.normal(mu, sigma, size=(batches * batch_size, 1))
    out = bn(fresh, training=False)
    return VarianceShift(
        p=p,
        train_var=float(seen.var()),
        train_var_theory=(sigma**2 + mu**2) / (1.0 - p) - mu**2,
        running_var=float(bn.running_var[0]),
        eval_var=float(fresh.var()),
        eval_output_std=float(out.std()),
    )
