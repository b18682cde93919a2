"""Batch Normalization's pure functions, in NumPy float64 (as ``torch.nn.functional.batch_norm`` is to the
module): the axes a channel's statistics cover, the statistics, the normalization, the running average's step
and the closed-form backward pass (Ioffe and Szegedy, 2015, Algorithm 1 and section 3)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np


def reduced_axes(ndim: int, axis: int) -> tuple[int, ...]:
    """The axes BatchNorm averages over: every axis except the channel axis.

    >>> reduced_axes(4, 1)   # (N, C, H, W): over N, H and W
    (0, 2, 3)
    """
    if ndim < 1:
        raise ValueError("BatchNorm needs an input with at least one axis")
    channel = _normalize_axis(axis, ndim)
    return tuple(a for a in range(ndim) if a != channel)


def values_per_channel(shape: tuple[int, ...], axis: int) -> int:
    """How many numbers each channel's statistics are computed from."""
    axes = reduced_axes(len(shape), axis)
    return math.prod(shape[a] for a in axes)


def batch_stats(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance of a batch, in float64.

    Returns:
        ``(mean, var)``, each of shape (C,).
    """
    axes = reduced_axes(x.ndim, axis)
    x64 = np.asarray(x, dtype=np.float64)
    mean = x64.mean(axis=axes) if axes else x64.copy()
    var = ((x64 - channel_view(mean, x.ndim, axis)) ** 2).mean(axis=axes) if axes else np.zeros_like(mean)
    return mean, var


def normalize(
    x: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    eps: float,
    axis: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta`` per channel.

    Args:
        x: input of any rank, channels on ``axis``.
        mean, var, gamma, beta: shape (C,); gamma and beta may be None (no affine).
        eps: added to the variance; ``eps = 0`` with ``var = 0`` gives NaN (0/0).

    Returns:
        ``(y, x_hat)`` in float64, both of x's shape.
    """
    x64 = np.asarray(x, dtype=np.float64)
    ndim = x64.ndim
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_std = 1.0 / np.sqrt(np.asarray(var, dtype=np.float64) + eps)
        x_hat = (x64 - channel_view(mean, ndim, axis)) * channel_view(inv_std, ndim, axis)
        # Both frameworks fold the layer into one scale and shift per channel,
        # y = x * scale + shift; the fold decides edge cases such as eps = 0 and
        # var = 0, where PyTorch gives NaN (0 * inf) rather than inf.
        scale = inv_std * (1.0 if gamma is None else np.asarray(gamma, np.float64))
        shift = (0.0 if beta is None else np.asarray(beta, np.float64)) - np.asarray(mean, np.float64) * scale
        y = x64 * channel_view(scale, ndim, axis) + channel_view(shift, ndim, axis)
    return y, x_hat


def momentum_update(
    running: np.ndarray, batch_value: np.ndarray, momentum: float, weighs: Literal["new", "old"]
) -> np.ndarray:
    """One step of the exponential moving average, in either convention.

    PyTorch: ``running = (1 - momentum) * running + momentum * batch``.
    Keras:   ``running = momentum * running + (1 - momentum) * batch``.
    So Keras momentum m is PyTorch momentum 1 - m.
    """
    new_weight = momentum if weighs == "new" else 1.0 - momentum
    return (1.0 - new_weight) * running + new_weight * batch_value


def batch_norm_backward(
    dy: np.ndarray,
    x_hat: np.ndarray,
    var: np.ndarray,
    gamma: np.ndarray,
    eps: float,
    axis: int,
    batch_mode: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The closed-form gradients of ``y = gamma * x_hat + beta``, in float64.

    Args:
        dy: upstream gradient, x's shape.
        x_hat, var: the forward pass's normalized input (x's shape) and the variance it used (C,).
        batch_mode: the forward pass used the batch's own statistics, so dx includes the
            paths through the batch mean and variance (Ioffe and Szegedy, 2015, section 3):
            ``dx = inv_std / m * (m * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))``.
            Otherwise the statistics are constants and ``dx = dx_hat * inv_std``.

    Returns:
        ``(dx, dgamma, dbeta)``: dx of dy's shape, the others (C,).
    """
    dy64 = np.asarray(dy, dtype=np.float64)
    if dy64.shape != x_hat.shape:
        raise ValueError(f"dy has shape {dy64.shape}, the last output had {x_hat.shape}")
    ndim = dy64.ndim
    axes = reduced_axes(ndim, axis)
    dbeta = dy64.sum(axis=axes) if axes else dy64.copy()
    dgamma = (dy64 * x_hat).sum(axis=axes) if axes else dy64 * x_hat
    dx_hat = dy64 * channel_view(gamma, ndim, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_std = channel_view(1.0 / np.sqrt(np.asarray(var, np.float64) + eps), ndim, axis)
        if not batch_mode:
            return dx_hat * inv_std, dgamma, dbeta
        m = values_per_channel(dy64.shape, axis)
        sum_dx_hat = channel_view(dx_hat.sum(axis=axes) if axes else dx_hat, ndim, axis)
        sum_dx_hat_x_hat = channel_view((dx_hat * x_hat).sum(axis=axes) if axes else dx_hat * x_hat, ndim, axis)
        dx = inv_std / m * (m * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat)
    return dx, dgamma, dbeta


def _normalize_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an input with {ndim} axes")
    return axis % ndim


def channel_view(v: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """Reshape a (C,) vector to broadcast along ``axis`` of an ndim-array."""
    shape = [1] * ndim
    shape[_normalize_axis(axis, ndim)] = -1
    return np.asarray(v, dtype=np.float64).reshape(shape)
