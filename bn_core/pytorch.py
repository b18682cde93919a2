"""PyTorch's batch norm, computed by torch itself in the input's dtype.

A float32 ``torch.nn.BatchNorm*d`` keeps float32 running buffers and, in torch 2.13 on the
CPU, sums a (N, C) batch in float32 (a (N, C, L) or (N, C, H, W) batch in double, its mean
rounded to float32), then folds the layer into y = x·a + b with a = γ/√(σ² + ε) and
b = β − μ·a, in float32. On ordinary data that differs from exact arithmetic in the last
digit; on a constant channel, which the ε section shows, the rounding *is* the answer (an
output of 0.104 instead of 0 for 1 024 values of 2.1 at ε = 1e-8). Rather than copy the
kernel's layout-dependent order, these functions call torch: ``torch.nn.functional.batch_norm``
as the module does, and ``torch.batch_norm_update_stats`` (the same kernel's statistics step alone)
where only the statistics are wanted.
"""

from __future__ import annotations

import numpy as np


def _torch():
    """torch and its functional module, imported on first use."""
    import torch
    import torch.nn.functional as F

    return torch, F


def _buffer(values: np.ndarray | None, dtype: np.dtype):
    """A copy of a running statistic as the module's buffer of the input's dtype."""
    torch, _ = _torch()
    return None if values is None else torch.from_numpy(np.array(values, dtype=dtype))


def _input(x: np.ndarray, axis: int):
    """x as a tensor with its channels on axis 1, as torch wants them."""
    torch, _ = _torch()
    x1 = np.ascontiguousarray(np.moveaxis(x, axis, 1) if axis % x.ndim != 1 else x)
    return torch.from_numpy(x1 if x1.flags.writeable else x1.copy())  # torch warns on a read-only array


def batch_norm(
    x: np.ndarray,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    training: bool,
    momentum: float,
    eps: float,
    axis: int = 1,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``torch.nn.functional.batch_norm`` on ``x`` (float32 or float64, channels on ``axis``) with
    running buffers, γ and β in x's dtype, as a module of that dtype holds them. ``momentum`` is
    the factor torch is given (a module with momentum None passes 1 / batches tracked).

    Returns ``(y, running_mean, running_var)``: y in x's dtype and x's layout; the buffers after
    the call as float64 arrays (None where not tracked): the same values training updated."""
    _, F = _torch()
    dtype = x.dtype
    moved = axis % x.ndim != 1
    xt = _input(x, axis)
    rm, rv = _buffer(running_mean, dtype), _buffer(running_var, dtype)
    y = F.batch_norm(xt, rm, rv, _buffer(gamma, dtype), _buffer(beta, dtype), training, momentum, eps).numpy()
    out = np.moveaxis(y, 1, axis) if moved else y
    return out, *(None if b is None else b.numpy().astype(np.float64) for b in (rm, rv))


def update_stats(
    x: np.ndarray, running_mean: np.ndarray | None, running_var: np.ndarray | None, momentum: float, axis: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """What a training call does to the statistics, without the output, in one torch call
    (``torch.batch_norm_update_stats``: the CPU kernel's own statistics step, the one the training
    forward runs; its updates are bit-identical to a module's, tests/unit/test_batchnorm_vs_torch.py).

    Returns ``(mean, var, running_mean, running_var)`` as float64 arrays: the batch's mean and biased
    variance as the kernel computes them, then the buffers after the update (None where not tracked)."""
    torch, _ = _torch()
    x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    rm, rv = _buffer(running_mean, x.dtype), _buffer(running_var, x.dtype)
    mean, var = torch.batch_norm_update_stats(_input(x, axis), rm, rv, momentum)
    return (
        mean.numpy().astype(np.float64),
        var.numpy().astype(np.float64),
        *(None if b is None else b.numpy().astype(np.float64) for b in (rm, rv)),
    )


def batch_moments(x: np.ndarray, axis: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The batch mean and biased variance PyTorch's kernel normalizes ``x`` with, per channel (C,),
    as float64 arrays."""
    c = x.shape[axis]
    if x.size // c == 1:  # torch refuses to train on it; one value is its own mean, with variance 0
        return np.moveaxis(x, axis, 0).reshape(c).astype(np.float64), np.zeros(c)
    return update_stats(x, None, None, 0.0, axis)[:2]
