"""One small batch through BatchNorm, step by step, forward and backward.

For a batch x of shape (N, C) in training mode (Ioffe and Szegedy, 2015, Algorithm 1
and section 3). The backward pass is ``batch_norm_backward``; what this module adds
is what follows from its formula, per channel:

- ``sum(dx) = 0``: an update of x through BN cannot move the batch mean;
- ``<dx, x_hat> = eps / (var + eps)**1.5 * gamma * dgamma``: zero exactly when
  eps = 0, so an update cannot (to first order) rescale the feature either;
- ``dx_frozen``, the gradient if the batch statistics were constants, for comparison.

``torch_reference`` computes the same numbers with PyTorch autograd, for a live check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import batch_norm_backward, batch_stats, normalize

UPSTREAM = ("random", "ones", "x_hat", "y", "one")  # the upstream gradients dy a lesson offers


@dataclass(frozen=True)
class Forward:
    """The four steps of Algorithm 1 for a batch (N, C), in float64."""

    x: np.ndarray  # (N, C)
    mean: np.ndarray  # (C,) mu_B
    var: np.ndarray  # (C,) sigma_B^2, biased
    x_hat: np.ndarray  # (N, C)
    y: np.ndarray  # (N, C)
    gamma: np.ndarray  # (C,)
    beta: np.ndarray  # (C,)
    eps: float


@dataclass(frozen=True)
class Backward:
    dy: np.ndarray  # (N, C) upstream gradient
    dx: np.ndarray  # (N, C) through the batch statistics
    dgamma: np.ndarray  # (C,)
    dbeta: np.ndarray  # (C,)
    dx_frozen: np.ndarray  # (N, C) as if mu_B and sigma_B^2 were constants: gamma * dy / sqrt(var + eps)
    sum_dx: np.ndarray  # (C,) zero up to rounding
    dot_dx_x_hat: np.ndarray  # (C,) <dx, x_hat>, computed from dx
    dot_predicted: np.ndarray  # (C,) eps / (var + eps)^1.5 * gamma * dgamma, the closed form of the line above


def forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> Forward:
    """Batch statistics, x_hat and y for x (N, C); gamma and beta (C,)."""
    x64 = np.asarray(x, np.float64)
    if x64.ndim != 2 or 0 in x64.shape:
        raise ValueError(f"expected a non-empty batch (N, C), got shape {x64.shape}")
    mean, var = batch_stats(x64, axis=1)
    gamma, beta = np.asarray(gamma, np.float64), np.asarray(beta, np.float64)
    y, x_hat = normalize(x64, mean, var, gamma, beta, eps, axis=1)
    return Forward(x64, mean, var, x_hat, y, gamma, beta, float(eps))


def backward(fwd: Forward, dy: np.ndarray) -> Backward:
    dy = np.asarray(dy, np.float64)
    dx, dgamma, dbeta = batch_norm_backward(dy, fwd.x_hat, fwd.var, fwd.gamma, fwd.eps, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_std = 1.0 / np.sqrt(fwd.var + fwd.eps)
        dot_predicted = fwd.eps * inv_std**3 * fwd.gamma * dgamma
        dx_frozen = dy * fwd.gamma * inv_std
    return Backward(
        dy=dy,
        dx=dx,
        dgamma=dgamma,
        dbeta=dbeta,
        dx_frozen=dx_frozen,
        sum_dx=dx.sum(axis=0),
        dot_dx_x_hat=(dx * fwd.x_hat).sum(axis=0),
        dot_predicted=dot_predicted,
    )


def upstream(kind: str, fwd: Forward, seed: int = 0, cell: tuple[int, int] = (0, 0)) -> np.ndarray:
    """An upstream gradient dy (N, C) for a loss a lesson can name:

    - ``random``: standard normal, drawn with ``seed``;
    - ``ones``: L = sum(y), every output pushed up alike;
    - ``x_hat``: dy = x_hat, a loss that wants the feature stretched (each output moved
      away from the batch mean in proportion to its distance from it);
    - ``y``: L = sum(y**2) / 2;
    - ``one``: L = y at one cell.
    """
    shape = fwd.x.shape
    if kind == "random":
        return np.random.default_rng(seed).standard_normal(shape)
    if kind == "ones":
        return np.ones(shape)
    if kind == "x_hat":
        return fwd.x_hat.copy()
    if kind == "y":
        return fwd.y.copy()
    if kind == "one":
        dy = np.zeros(shape)
        dy[cell] = 1.0
        return dy
    raise ValueError(f"unknown upstream gradient {kind!r}; expected one of {UPSTREAM}")


def frozen_gradient_parts(fwd: Forward, back: Backward) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the parts of ``dx_frozen`` along the constant direction (a shift of the
    feature) and along x_hat (a rescaling), as shares of its squared length (C,) each.
    The full dx has neither part when eps = 0: it is dx_frozen with them projected out."""
    g = back.dx_frozen
    n = g.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        total = (g**2).sum(axis=0)
        shift = g.sum(axis=0) ** 2 / n / total
        x_hat_norm2 = (fwd.x_hat**2).sum(axis=0)
        scale = (g * fwd.x_hat).sum(axis=0) ** 2 / x_hat_norm2 / total
    return shift, scale


def torch_reference(
    x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(y, dx, dgamma, dbeta) from PyTorch autograd in float64.

    For eps > 0 through ``torch.nn.functional.batch_norm`` itself; PyTorch refuses eps = 0
    in training, so then through the same formula written with torch operations.
    """
    import torch  # imported here: only this live check needs torch on the page

    xt = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    g = torch.tensor(np.asarray(gamma, np.float64), requires_grad=True)
    b = torch.tensor(np.asarray(beta, np.float64), requires_grad=True)
    if eps > 0:
        y = torch.nn.functional.batch_norm(xt, None, None, g, b, training=True, eps=eps)
    else:
        mean = xt.mean(dim=0)
        var = ((xt - mean) ** 2).mean(dim=0)
        y = (xt - mean) / torch.sqrt(var + eps) * g + b
    y.backward(torch.tensor(np.asarray(dy, np.float64)))
    return y.detach().numpy(), xt.grad.numpy(), g.grad.numpy(), b.grad.numpy()
