"""BatchNorm's relatives: which axes each one averages over, and their forward passes.

For an input of shape (N, C, *spatial) they differ only in the set of values
that share one mean and one variance:

- BatchNorm:    per channel, over N and the spatial axes (needs a batch).
- LayerNorm:    per sample, over C and the spatial axes (Ba et al., 2016).
- InstanceNorm: per sample and channel, over the spatial axes (Ulyanov et al., 2016).
- GroupNorm:    per sample and group of C/G channels, over those channels and
                the spatial axes (Wu and He, 2018). G = 1 is LayerNorm, G = C is
                InstanceNorm.

``shared_statistics`` returns that grouping as data so a lesson can draw it;
the forward functions match ``torch.nn.functional`` (biased variance, no
running statistics).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

NormKind = Literal["batch", "layer", "instance", "group"]
NORM_KINDS: tuple[NormKind, ...] = ("batch", "layer", "instance", "group")


def norm_reduced_axes(kind: NormKind, ndim: int) -> tuple[int, ...]:
    """Axes of an (N, C, *spatial) input that one statistic averages over.

    GroupNorm also averages over the channels of one group, which is part of
    axis 1: see ``shared_statistics`` for the exact grouping.
    """
    if ndim < 2:
        raise ValueError(f"expected an input (N, C, ...), got {ndim} axes")
    spatial = tuple(range(2, ndim))
    return {
        "batch": (0, *spatial),
        "layer": (1, *spatial),
        "instance": spatial,
        "group": (1, *spatial),
    }[kind]


def shared_statistics(kind: NormKind, n: int, c: int, num_groups: int = 1) -> np.ndarray:
    """Which (sample, channel) cells share one mean and variance.

    Returns:
        Integer array (N, C): cells with the same number are normalized
        together (the spatial positions of a cell always are).
    """
    if kind == "group" and (num_groups < 1 or c % num_groups):
        raise ValueError(f"num_groups={num_groups} must divide the {c} channels")
    sample = np.arange(n)[:, None]
    channel = np.arange(c)[None, :]
    ids = {
        "batch": np.broadcast_to(channel, (n, c)),
        "layer": np.broadcast_to(sample, (n, c)),
        "instance": sample * c + channel,
        "group": sample * num_groups + channel // max(c // max(num_groups, 1), 1),
    }[kind]
    return np.ascontiguousarray(ids)


def layer_norm(
    x: np.ndarray,
    normalized_ndim: int,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    """LayerNorm over the last ``normalized_ndim`` axes, as ``F.layer_norm``.

    gamma and beta have the shape of those axes.
    """
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    return _normalize_over(x, axes, gamma, beta, eps)


def instance_norm(
    x: np.ndarray, gamma: np.ndarray | None = None, beta: np.ndarray | None = None, eps: float = 1e-5
) -> np.ndarray:
    """InstanceNorm (N, C, *spatial) as ``F.instance_norm`` without running stats;
    gamma and beta have shape (C,)."""
    y = _normalize_over(x, tuple(range(2, x.ndim)), None, None, eps)
    return _affine_per_channel(y, gamma, beta, x.dtype)


def group_norm(
    x: np.ndarray,
    num_groups: int,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    eps: float = 1e-5,
) -> np.ndarray:
    """GroupNorm (N, C, *spatial) as ``F.group_norm``; gamma and beta have shape (C,)."""
    n, c = x.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ValueError(f"num_groups={num_groups} must divide the {c} channels")
    grouped = x.reshape(n, num_groups, -1)
    y = _normalize_over(grouped, (2,), None, None, eps).reshape(x.shape)
    return _affine_per_channel(y, gamma, beta, x.dtype)


def _normalize_over(
    x: np.ndarray, axes: tuple[int, ...], gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
) -> np.ndarray:
    x64 = np.asarray(x, dtype=np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = x64.var(axis=axes, keepdims=True)  # biased, as every framework normalizes
    y = (x64 - mean) / np.sqrt(var + eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y.astype(x.dtype)


def _affine_per_channel(
    y: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, dtype: np.dtype
) -> np.ndarray:
    shape = (1, -1) + (1,) * (y.ndim - 2)
    out = np.asarray(y, dtype=np.float64)
    if gamma is not None:
        out = out * np.asarray(gamma, np.float64).reshape(shape)
    if beta is not None:
        out = out + np.asarray(beta, np.float64).reshape(shape)
    return out.astype(dtype)


def values_per_statistic(kind: NormKind, shape: tuple[int, ...], num_groups: int = 1) -> int:
    """How many values one mean and variance are computed from, for an input (N, C, *spatial).

    One value means the statistic is that value itself: the output is 0 (then beta) whatever
    the input, and PyTorch refuses BatchNorm and InstanceNorm in training for it.
    """
    if len(shape) < 2:
        raise ValueError(f"expected an input (N, C, ...), got shape {shape}")
    n, c = shape[:2]
    spatial = math.prod(shape[2:])
    if kind == "group" and (num_groups < 1 or c % num_groups):
        raise ValueError(f"num_groups={num_groups} must divide the {c} channels")
    return {
        "batch": n * spatial,
        "layer": c * spatial,
        "instance": spatial,
        "group": c // max(num_groups, 1) * spatial,
    }[kind]
