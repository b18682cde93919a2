"""Batches drawn from populations whose mean and variance are known exactly,
so a lesson can show running statistics converging to the true values.

Channel c has its own population: mean + c and std * (1 + c / 4), so that
per-channel statistics visibly differ. Every source but ``relu`` and
``constant`` is shaped to have exactly that mean and standard deviation.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from bn_core.neuron import relu_moments

Source = Literal["normal", "relu", "lognormal", "bimodal", "constant"]
SOURCES: tuple[Source, ...] = ("normal", "relu", "lognormal", "bimodal", "constant")
# Batch sizes a lesson offers: every small one (where BatchNorm's trouble lives), then about x1.5 steps.
BATCH_SIZES = (1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
_LOGNORMAL_SIGMA = 0.75  # skewness about 2.9
_BIMODAL_SHIFT = 0.9  # modes at +-0.9 with spread sqrt(1 - 0.81): unit variance


def channel_params(c: int, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mean, std) of the parameters each population is built from. Shape (C,) each."""
    k = np.arange(c)
    return mean + k, std * (1.0 + k / 4.0)


def sample_batch(
    shape: tuple[int, ...], source: Source, mean: float, std: float, rng: np.random.Generator
) -> np.ndarray:
    """A float64 batch of ``shape`` (N, C, ...) with channels on axis 1."""
    if len(shape) < 2:
        raise ValueError(f"shape must be (N, C, ...), got {shape}")
    mu, sd = channel_params(shape[1], mean, std)
    view = (1, -1) + (1,) * (len(shape) - 2)
    mu, sd = mu.reshape(view), sd.reshape(view)
    if source == "constant":
        # a C-ordered array, as a student's own batch would be (broadcast_to then astype keeps a strided layout,
        # and torch's kernels reduce another layout in another order: other rounding)
        return np.full(shape, mu, dtype=np.float64)
    z = rng.standard_normal(shape)
    if source == "normal":
        return mu + sd * z
    if source == "relu":  # ReLU of N(mu, sd^2): a spike of exact zeros
        return np.maximum(mu + sd * z, 0.0)
    if source == "lognormal":
        s = _LOGNORMAL_SIGMA
        m, v = math.exp(s * s / 2), (math.exp(s * s) - 1) * math.exp(s * s)
        return mu + sd * (np.exp(s * z) - m) / math.sqrt(v)
    if source == "bimodal":
        sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        spread = math.sqrt(1 - _BIMODAL_SHIFT**2)
        return mu + sd * (sign * _BIMODAL_SHIFT + spread * z)
    raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")


def population_stats(c: int, source: Source, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-channel population mean and variance. Shape (C,) each."""
    mu, sd = channel_params(c, mean, std)
    if source == "constant":
        return mu, np.zeros(c)
    if source == "relu":
        moments = [relu_moments(m, s) for m, s in zip(mu, sd, strict=True)]
        return np.array([m[1] for m in moments]), np.array([m[2] ** 2 for m in moments])
    return mu, sd**2
