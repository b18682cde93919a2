"""Batch Renormalization's forward pass (Ioffe, 2017, "Batch Renormalization:
Towards Reducing Minibatch Dependence in Batch-Normalized Models").

In training BatchNorm normalizes with the batch's statistics and at inference
with the running ones; with small or non-i.i.d. batches the two disagree.
Batch Renorm corrects the batch-normalized value towards what the running
statistics would give:

    sigma_B = sqrt(var_B + eps),    sigma = sqrt(running_var + eps)
    r = clip(sigma_B / sigma, 1/r_max, r_max)        (no gradient flows through r)
    d = clip((mu_B - mu) / sigma, -d_max, d_max)     (nor through d)
    x_hat = (x - mu_B) / sigma_B * r + d
    y = gamma * x_hat + beta

Unclipped, x_hat = (x - mu) / sigma exactly: the inference formula. With
r_max = 1 and d_max = 0 it is plain BatchNorm. Inference always uses the
running statistics. Channels are on axis 1, as in PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import batch_stats, channel_view, momentum_update, normalize


@dataclass(frozen=True)
class RenormResult:
    y: np.ndarray  # x's shape
    r: np.ndarray  # (C,)
    d: np.ndarray  # (C,)
    running_mean: np.ndarray  # (C,), after this step's update
    running_var: np.ndarray  # (C,)


def batch_renorm(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    *,
    training: bool,
    r_max: float = 3.0,
    d_max: float = 5.0,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> RenormResult:
    """One Batch Renorm step on x (N, C, ...); momentum weighs the new batch, as in PyTorch.

    The running variance is updated with the biased batch variance, as in the paper.
    """
    if r_max < 1 or d_max < 0:
        raise ValueError(f"need r_max >= 1 and d_max >= 0, got r_max={r_max}, d_max={d_max}")
    running_mean = np.asarray(running_mean, np.float64)
    running_var = np.asarray(running_var, np.float64)
    if not training:
        y, _ = normalize(x, running_mean, running_var, gamma, beta, eps, axis=1)
        ones = np.ones_like(running_mean)
        return RenormResult(y.astype(x.dtype), ones, np.zeros_like(ones), running_mean, running_var)

    mean_b, var_b = batch_stats(x, axis=1)
    sigma_b = np.sqrt(var_b + eps)
    sigma = np.sqrt(running_var + eps)
    r = np.clip(sigma_b / sigma, 1.0 / r_max, r_max)
    d = np.clip((mean_b - running_mean) / sigma, -d_max, d_max)
    _, x_hat_b = normalize(x, mean_b, var_b, None, None, eps, axis=1)
    x_hat = x_hat_b * channel_view(r, x.ndim, 1) + channel_view(d, x.ndim, 1)
    y = x_hat
    if gamma is not None:
        y = y * channel_view(gamma, x.ndim, 1)
    if beta is not None:
        y = y + channel_view(beta, x.ndim, 1)
    return RenormResult(
        y=y.astype(x.dtype),
        r=r,
        d=d,
        running_mean=momentum_update(running_mean, mean_b, momentum, "new"),
        running_var=momentum_update(running_var, var_b, momentum, "new"),
    )
