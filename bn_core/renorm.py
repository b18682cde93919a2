"""Batch Renormalization's forward pass (Ioffe, 2017, "Batch Renormalization:
Towards Reducing Minibatch Dependence in Batch-Normalized Models").

In training BatchNorm normalizes with the batch's statistics and at inference
with the running ones; with small or non-i.i.d. batches the two disagree.
Batch Renorm corrects the batch-normalized value towards what the running
statistics would give:

    sigma_B = sqrt(var_B + eps)
    r = clip(sigma_B / sigma, 1/r_max, r_max)        (no gradient flows through r)
    d = clip((mu_B - mu) / sigma, -d_max, d_max)     (nor through d)
    x_hat = (x - mu_B) / sigma_B * r + d
    y = gamma * x_hat + beta
    mu    <- mu + alpha * (mu_B - mu)                (Algorithm 1: moving averages of the
    sigma <- sigma + alpha * (sigma_B - sigma)        mean and of the standard deviation)

and at inference y = gamma * (x - mu) / sigma + beta. The running state is
(mu, sigma), not a variance: averaging sigma_B is not averaging var_B (the square
root of an average is not the average of square roots), and sigma already holds
eps. Keras's renorm keeps a moving standard deviation the same way. Unclipped,
x_hat = (x - mu) / sigma exactly: the inference formula. With r_max = 1 and
d_max = 0 it is plain BatchNorm. Channels are on axis 1, as in PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import batch_stats, channel_view, momentum_update


@dataclass(frozen=True)
class RenormResult:
    y: np.ndarray  # x's shape
    r: np.ndarray  # (C,)
    d: np.ndarray  # (C,)
    running_mean: np.ndarray  # (C,) mu, after this step's update
    running_std: np.ndarray  # (C,) sigma, after this step's update (it includes eps)


def batch_renorm(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_std: np.ndarray,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    *,
    training: bool,
    r_max: float = 3.0,
    d_max: float = 5.0,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> RenormResult:
    """One Batch Renorm step on x (N, C, ...); ``momentum`` is the paper's alpha, the weight of
    the new batch (as in PyTorch). ``running_std`` is the paper's sigma, shape (C,) like
    ``running_mean``; a fresh layer starts at mu = 0, sigma = 1."""
    if r_max < 1 or d_max < 0:
        raise ValueError(f"need r_max >= 1 and d_max >= 0, got r_max={r_max}, d_max={d_max}")
    mu = np.asarray(running_mean, np.float64)
    sigma = np.asarray(running_std, np.float64)
    if not training:
        y = (np.asarray(x, np.float64) - channel_view(mu, x.ndim, 1)) / channel_view(sigma, x.ndim, 1)
        ones = np.ones_like(mu)
        return RenormResult(_affine(y, gamma, beta).astype(x.dtype), ones, np.zeros_like(ones), mu, sigma)

    mean_b, var_b = batch_stats(x, axis=1)
    sigma_b = np.sqrt(var_b + eps)
    r = np.clip(sigma_b / sigma, 1.0 / r_max, r_max)
    d = np.clip((mean_b - mu) / sigma, -d_max, d_max)
    x_hat_b = (np.asarray(x, np.float64) - channel_view(mean_b, x.ndim, 1)) / channel_view(sigma_b, x.ndim, 1)
    x_hat = x_hat_b * channel_view(r, x.ndim, 1) + channel_view(d, x.ndim, 1)
    return RenormResult(
        y=_affine(x_hat, gamma, beta).astype(x.dtype),
        r=r,
        d=d,
        running_mean=momentum_update(mu, mean_b, momentum, "new"),
        running_std=momentum_update(sigma, sigma_b, momentum, "new"),
    )


def _affine(x_hat: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None) -> np.ndarray:
    y = x_hat if gamma is None else x_hat * channel_view(gamma, x_hat.ndim, 1)
    return y if beta is None else y + channel_view(beta, x_hat.ndim, 1)
