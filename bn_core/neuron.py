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

from bn_core.batchnorm import CONVENTIONS, batch_stats

Activation = Literal["relu", "leaky_relu", "sigmoid", "tanh"]
Placement = Literal["off", "before", "after"]  # BatchNorm: none, before the activation, after it
BN_EPS = CONVENTIONS["pytorch"].eps  # the lesson's BatchNorm is PyTorch's default layer
ACTIVATIONS: tuple[Activation, ...] = ("relu", "leaky_relu", "sigmoid", "tanh")
LEAKY_SLOPE = 0.01  # PyTorch's default negative_slope
# An output counts as saturated when it lies within this fraction of the
# activation's range from one of its bounds (sigmoid: y < 0.05 or y > 0.95;
# tanh: |y| > 0.9); there the gradient is under a fifth of its peak.
SATURATION_MARGIN = 0.05
BOUNDS: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def sample_inputs(n: int, mean: float, std: float, seed: int) -> np.ndarray:
    """n samples of (x1, x2), i.i.d. N(mean, std^2), rounded to float32: the values the
    browser receives, so that the page and the live chart compute from the same numbers.
    Shape (n, 2), dtype float32."""
    rng = np.random.default_rng(seed)
    return (mean + std * rng.standard_normal((n, 2))).astype(np.float32)


def pre_activation(x: np.ndarray, w1: float, w2: float, w0: float) -> np.ndarray:
    """z = w1*x1 + w2*x2 + w0 for x of shape (n, 2), in float64. Shape (n,)."""
    x = np.asarray(x, np.float64)
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
class NeuronPass:
    """One forward pass of the neuron over a sample, with BatchNorm placed as asked."""

    bn: Placement
    z: np.ndarray  # (n,) pre-activation w1*x1 + w2*x2 + w0
    mid: np.ndarray | None  # (n,) between BN and the activation: BN's output (BN before) or its input (BN after)
    out: np.ndarray  # (n,) what the next layer receives
    bn_mean: float | None = None  # batch mean of BN's input (mu_B); None without BN
    bn_var: float | None = None  # its biased batch variance (sigma_B^2)
    bn_scale: float | None = None  # BN maps v to v * bn_scale + bn_shift (gamma = 1, beta = 0)
    bn_shift: float | None = None

    @property
    def activated(self) -> np.ndarray:
        """What the activation function put out (BN's input when BN sits after it)."""
        return self.mid if self.bn == "after" else self.out


def forward(
    x: np.ndarray, w1: float, w2: float, w0: float, act: Activation, bn: Placement = "off", eps: float = BN_EPS
) -> NeuronPass:
    """The lesson's neuron over the sample x (n, 2), BatchNorm in training mode (batch statistics).

    BatchNorm follows ``bn_core.batchnorm`` (PyTorch's defaults, gamma = 1, beta = 0), written
    out for one channel: mean and biased variance in float64, then the fold PyTorch uses,
    y = v * scale + shift with scale = 1 / sqrt(var + eps) and shift = 0 - mean * scale.
    The live chart's JavaScript (lessons/neuron/live.js) repeats these operations in this order.
    """
    z = pre_activation(x, w1, w2, w0)
    if bn == "off":
        return NeuronPass(bn, z, None, activate(z, act))
    v = z if bn == "before" else activate(z, act)
    mean, var = batch_stats(v[:, None], axis=1)
    scale = 1.0 / np.sqrt(var[0] + eps)
    shift = 0.0 - mean[0] * scale
    normalized = v * scale + shift
    stats = (float(mean[0]), float(var[0]), float(scale), float(shift))
    if bn == "before":
        return NeuronPass(bn, z, normalized, activate(normalized, act), *stats)
    return NeuronPass(bn, z, v, normalized, *stats)


@dataclass(frozen=True)
class OutputSummary:
    mean: float
    std: float
    zero_share: float  # share of activation outputs exactly 0 (ReLU's tall bar)
    saturated_share: float | None  # sigmoid and tanh only


def summarize(y: np.ndarray, kind: Activation, activated: np.ndarray | None = None) -> OutputSummary:
    """Mean and standard deviation of the output y; zeros and saturation of what the activation
    put out (``activated``, default y): with BN after the activation, y is BN's output, which has
    neither exact zeros nor the activation's bounds."""
    a = y if activated is None else activated
    saturated = None
    if kind in BOUNDS:
        lo, hi = BOUNDS[kind]
        margin = SATURATION_MARGIN * (hi - lo)
        saturated = float(np.mean((a < lo + margin) | (a > hi - margin)))
    return OutputSummary(
        mean=float(y.mean()),
        std=float(y.std()),
        zero_share=float(np.mean(a == 0.0)),
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


def framework_residues(v: np.ndarray, eps: float = BN_EPS) -> dict[str, tuple[float, float]]:
    """For a constant BN input ``v`` (n,), whose exact normalized value is 0: what PyTorch's
    BatchNorm1d (training mode) gives in float32 and in float64. Per dtype (the largest |output|,
    the share of ReLU's outputs that are exactly 0): its mean can miss the value by a rounding
    error, and ReLU keeps the residues that come out positive."""
    import torch  # only for this case: the lesson's neuron is NumPy

    out = {}
    for dtype in (torch.float32, torch.float64):
        with torch.no_grad():
            y = torch.nn.BatchNorm1d(1, eps=eps).to(dtype)(torch.as_tensor(np.asarray(v)[:, None]).to(dtype))
        out[str(dtype).removeprefix("torch.")] = (float(y.abs().max()), float((torch.relu(y) == 0).double().mean()))
    return out
