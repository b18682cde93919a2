"""Keras 3's BatchNormalization arithmetic, step for step, in the dtype Keras computes in.

Keras 3's BatchNormalization computes in float32 whatever its dtype policy: its ``call``
casts the input to ``result_type(input dtype, "float32")``, and Keras's type promotion
makes that float32 for float64 too; a float64 layer only casts the output (and stores
its moving statistics) in float64. On the torch backend (``keras/src/backend/torch/nn.py``)
the layer runs

    mean = torch.mean(x, axes)
    var  = torch.mean(x ** 2, axes) - mean ** 2        # E[x²] − E[x]², "faster but less stable"
    y    = (x - mean) * (rsqrt(var + eps) * gamma) + beta
    moving = moving * momentum + batch_value * (1 - momentum)

so these functions run exactly those torch operations: the float32 rounding (a constant
channel whose float32 mean is not exactly its value, a slightly negative variance) is
then Keras's own. TensorFlow's backend folds the layer differently
(``tf.nn.batch_normalization``: x * inv + (beta − mean * inv)); ``tf_batch_normalization``
reproduces that order for the printed digits of a question asked about tf.keras.
"""

from __future__ import annotations

import numpy as np

DTYPES = ("float32", "float64")  # a layer's dtype policy: its output's and its variables' dtype
COMPUTE_DTYPE = "float32"  # what BatchNormalization.call computes in, for either policy


def _torch():
    """torch, imported on first use: pages that never use the Keras convention do not pay for it."""
    import torch

    return torch


def _tensor(a: np.ndarray | None, dtype: str):
    torch = _torch()
    return None if a is None else torch.as_tensor(np.asarray(a)).to(getattr(torch, dtype))


def moments(x: np.ndarray, axes: tuple[int, ...], dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """Keras's batch mean and variance E[x²] − E[x]² per channel, computed in ``dtype``. Shape (C,) each."""
    torch = _torch()
    t = _tensor(x, dtype)
    if not axes:  # (C,) input: torch.mean over an empty axis list (as Keras passes it) takes every value
        mean = torch.mean(t, dim=[]).reshape(1)
        var = torch.mean(torch.square(t), dim=[]).reshape(1) - torch.square(mean)
        return mean.expand(t.shape).numpy(), var.expand(t.shape).numpy()
    mean = torch.mean(t, dim=axes)
    var = torch.mean(torch.square(t), dim=axes) - torch.square(mean)
    return mean.numpy(), var.numpy()


def batch_normalization(
    x: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    eps: float,
    axis: int,
    dtype: str = "float32",
) -> np.ndarray:
    """``keras.ops.batch_normalization`` on the torch backend; mean, var, gamma, beta have shape (C,)."""
    torch, dt = _torch(), dtype
    t = _tensor(x, dt)
    shape = [1] * t.ndim
    shape[axis] = -1
    mean_t, var_t = _tensor(mean, dt).reshape(shape), _tensor(var, dt).reshape(shape)
    scale = torch.ones_like(var_t) if gamma is None else _tensor(gamma, dt).reshape(shape)
    offset = torch.zeros_like(mean_t) if beta is None else _tensor(beta, dt).reshape(shape)
    return (t - mean_t).mul_(var_t.add(eps).rsqrt_().mul(scale)).add_(offset).numpy()


def moving_average(moving: np.ndarray, value: np.ndarray, momentum: float, dtype: str = "float32") -> np.ndarray:
    """Keras's update of a moving statistic: momentum weighs the old value. Shape (C,)."""
    dt = dtype
    return (_tensor(moving, dt) * momentum + _tensor(value, dt) * (1.0 - momentum)).numpy()


def tf_batch_normalization(
    x: np.ndarray, mean: np.ndarray, var: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> np.ndarray:
    """The output as Keras on TensorFlow computes it in float32 (``tf.nn.batch_normalization``):
    inv = rsqrt(var + eps) * gamma, y = x * inv + (beta − mean * inv), every step rounded to
    float32 and rsqrt correctly rounded. x has shape (..., C); the rest (C,)."""
    f = np.float32
    var_eps = (np.asarray(var).astype(f) + f(eps)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = (1.0 / np.sqrt(var_eps)).astype(f) * np.asarray(gamma).astype(f)
        shift = np.asarray(beta).astype(f) - np.asarray(mean).astype(f) * inv
        return np.asarray(x, f) * inv + shift
