"""One neuron, y = f(w1*x1 + w2*x2 + w0), and the distribution of what it outputs.

The motivating picture of Ioffe and Szegedy (2015): when w moves, the
distribution of y (the next layer's input) moves with it. With x1, x2 drawn
i.i.d. from N(mu, sigma^2) the pre-activation is itself normal,

    z ~ N(m, s^2),  m = w0 + (w1 + w2) * mu,  s = sigma * sqrt(w1^2 + w2^2),

so a ReLU's share of exact zeros is Phi(-m / s) and its moments have closed
forms (``relu_moments``): the tests check the sampled numbers against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Activation = Literal["relu", "leaky_relu", "sigmoid", "tanh"]
ACTIVATIONS: tuple[Activation, ...] = ("relu", "leaky_relu", "sigmoid", "tanh")
LEAKY_SLOPE = 0.01  # PyTorch's default negative_slope
# An output counts as saturated when it lies within this fraction of the
# activation's range from one of its bounds (sigmoid: y < 0.05 or y > 0.95;
# tanh: |y| > 0.9); there the gradient is under a fifth of its peak.
SATURATION_MARGIN = 0.05
BOUNDS: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def sample_inputs(n: int, mean: float, std: float, seed: int) -> np.ndarray:
    """n samples of (x1, x2), i.i.d. N(mean, std^2). Shape (n, 2)."""
    rng = np.random.default_rng(seed)
    return mean + std * rng.standard_normal((n, 2))


def pre_activation(x: np.ndarray, w1: float, w2: float, w0: float) -> np.ndarray:
    """z = w1*x1 + w2*x2 + w0 for x of shape (n, 2). Shape (n,)."""
    return x[:, 0] * w1 + x[:, 1] * w2 + w0


def activate(z: np.ndarray, kind: Activation) -> np.ndarray:
    if kind == "relu":
        return np.maximum(z, 0.0)
    if kind == "leaky_relu":
        return np.where(z >= 0, z, LEAKY_SLOPE * z)
    if kind == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)) without overflow
    if kind == "tanh":
        return np.tanh(z)
    raise ValueError(f"unknown activation {kind!r}; expected one of {ACTIVATIONS}")


@dataclass(frozen=True)
class OutputSummary:
    mean: float
    std: float
    zero_share: float  # share of outputs exactly 0 (ReLU's tall bar)
    saturated_share: float | None  # sigmoid and tanh only


def summarize(y: np.ndarray, kind: Activation) -> OutputSummary:
    saturated = None
    if kind in BOUNDS:
        lo, hi = BOUNDS[kind]
        margin = SATURATION_MARGIN * (hi - lo)
        saturated = float(np.mean((y < lo + margin) | (y > hi - margin)))
    return OutputSummary(
        mean=float(y.mean()),
        std=float(y.std()),
        zero_share=float(np.mean(y == 0.0)),
        saturated_share=saturated,
    )


def pre_activation_params(w1: float, w2: float, w0: float, mean: float, std: float) -> tuple[float, float]:
    """(m, s): mean and standard deviation of z when x1, x2 ~ N(mean, std^2) i.i.d."""
    return w0 + (w1 + w2) * mean, std * math.hypot(w1, w2)


def relu_moments(m: float, s: float) -> tuple[float, float, float]:
    """Zero share, mean and standard deviation of ReLU(z) for z ~ N(m, s^2).

    For s > 0, with a = m / s, Phi and phi the standard normal CDF and density:
    P(y = 0) = Phi(-a), E[y] = m Phi(a) + s phi(a),
    E[y^2] = (m^2 + s^2) Phi(a) + m s phi(a).
    """
    if s == 0:
        y = max(m, 0.0)
        return (1.0 if y == 0 else 0.0), y, 0.0
    a = m / s
    cdf = 0.5 * (1.0 + math.erf(a / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    mean = m * cdf + s * pdf
    second = (m * m + s * s) * cdf + m * s * pdf
    return 1.0 - cdf, mean, math.sqrt(max(second - mean * mean, 0.0))
