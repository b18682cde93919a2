"""Where BatchNorm goes: before or after the nonlinearity, and what the next layer sees.

The original paper normalizes the pre-activation, Linear -> BN -> ReLU (Ioffe and Szegedy,
2015, section 3.2); many code bases put BN after the ReLU; pre-activation ResNets use
BN -> ReLU -> Conv (He et al., 2016). BN here is training mode with gamma = 1, beta = 0:
what the layer does before it has learned anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import batch_stats, normalize

ACTIVATIONS = ("relu", "sigmoid", "tanh")
ORDERS = ("plain", "bn_act", "act_bn")  # no BN; BN then activation; activation then BN
SATURATION = 0.1  # "saturated": the activation's slope is below this share of its largest slope


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def slope(name: str, z: np.ndarray) -> np.ndarray:
    """The activation's derivative at z."""
    if name == "relu":
        return (z > 0).astype(np.float64)
    a = activate(name, z)
    return a * (1.0 - a) if name == "sigmoid" else 1.0 - a**2


def batch_normalize(z: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Training-mode BN of z (N, C) with gamma = 1 and beta = 0."""
    mean, var = batch_stats(z, axis=1)
    return normalize(z, mean, var, None, None, eps, axis=1)[0]


def place(order: str, z: np.ndarray, act: str = "relu", eps: float = 1e-5) -> np.ndarray:
    """What the next layer receives from pre-activations z (N, C) under one order."""
    if order == "plain":
        return activate(act, z)
    if order == "bn_act":
        return activate(act, batch_normalize(z, eps))
    if order == "act_bn":
        return batch_normalize(activate(act, z), eps)
    raise ValueError(f"unknown order {order!r}; expected one of {ORDERS}")


@dataclass(frozen=True)
class Seen:
    """Summary of what the next layer receives, over every value of a batch (N, C)."""

    mean: float
    std: float
    zero_share: float  # exact zeros: units that pass nothing on
    skewness: float  # third standardized moment per unit, averaged: 0 for a symmetric distribution


def summarize(values: np.ndarray) -> Seen:
    v = np.asarray(values, np.float64)
    centred = v - v.mean(axis=0)
    sd = v.std(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(sd > 0, (centred**3).mean(axis=0) / sd**3, 0.0)
    return Seen(float(v.mean()), float(v.std()), float((v == 0).mean()), float(skew.mean()))


def saturated_share(act: str, z: np.ndarray) -> float:
    """Share of inputs where a sigmoid or tanh is saturated: its slope is below
    ``SATURATION`` times its largest slope (1/4 for sigmoid, 1 for tanh), so little
    gradient passes (|z| > 3.64 for sigmoid, |z| > 1.82 for tanh)."""
    if act not in ("sigmoid", "tanh"):
        raise ValueError(f"saturation is defined here for sigmoid and tanh, not {act!r}")
    top = 0.25 if act == "sigmoid" else 1.0
    return float((slope(act, np.asarray(z, np.float64)) < SATURATION * top).mean())


def saturation_edge(act: str) -> float:
    """The |z| beyond which ``saturated_share`` counts an input as saturated."""
    if act == "sigmoid":  # a (1 - a) = SATURATION / 4 for a = sigmoid(z)
        a = (1.0 + np.sqrt(1.0 - SATURATION)) / 2.0
        return float(np.log(a / (1.0 - a)))
    if act == "tanh":  # 1 - tanh(z)^2 = SATURATION
        return float(np.arctanh(np.sqrt(1.0 - SATURATION)))
    raise ValueError(f"saturation is defined here for sigmoid and tanh, not {act!r}")


def pre_activations(n: int, c: int, mean: float, std: float, seed: int) -> np.ndarray:
    """Pre-activations z (N, C) of a layer that has drifted: every unit N(mean, std^2)."""
    return np.random.default_rng(seed).normal(mean, std, size=(n, c))


def bias_change(z: np.ndarray, bias: np.ndarray, eps: float = 1e-5) -> float:
    """Largest change a bias added before BN makes to BN's output: the batch mean absorbs it."""
    return float(np.abs(batch_normalize(z + bias, eps) - batch_normalize(z, eps)).max())
