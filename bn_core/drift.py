"""Why training normalizes with the batch's statistics, not the running averages.

Ioffe and Szegedy (2015, section 2) argue that if the gradient ignores how the
normalization statistics depend on the parameters, a parameter can grow without bound
while the loss stays where it was. Here is that argument as a runnable experiment, on one
unit ``x = w * u + b`` followed by BN (gamma 1, beta 0) and the loss mean((y - t)^2) for
targets t = 2u + 1, which BN's output (mean 0, variance 1) can only approach:

- ``"batch"``: normalize with the batch's mean and variance; the gradient flows through
  them (``batch_norm_backward``), so it has no part that only shifts or rescales x:
  b receives exactly zero gradient.
- ``"running"``: normalize with the running averages (PyTorch's momentum 0.1), treated as
  constants, as eval mode does. The gradient now pushes b and w, the running averages
  follow with a lag, and the push starts again: w and b drift away, the loss does not improve.

``train_eval_gap`` measures the other cost of batch statistics: with small batches the
output in training differs from the output in eval mode for the same input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bn_core.batchnorm import batch_norm_backward, batch_stats, momentum_update

MODES = ("batch", "running")
EPS = 1e-5


def step_gradients(
    mode: str, w: float, b: float, u: np.ndarray, t: np.ndarray, running: tuple[float, float]
) -> tuple[float, float, float]:
    """(loss, dL/dw, dL/db) for one batch u, targets t (N, 1), normalizing with the batch's
    statistics or with ``running`` = (mean, var) held constant."""
    x = w * u + b
    n = u.shape[0]
    if mode == "batch":
        mean, var = batch_stats(x, axis=1)
        x_hat = (x - mean) / np.sqrt(var + EPS)
        dy = 2.0 * (x_hat - t) / n
        dx = batch_norm_backward(dy, x_hat, var, np.ones(1), EPS, axis=1)[0]
    elif mode == "running":
        inv_std = 1.0 / np.sqrt(running[1] + EPS)
        x_hat = (x - running[0]) * inv_std
        dy = 2.0 * (x_hat - t) / n
        dx = dy * inv_std
    else:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    loss = float(((x_hat - t) ** 2).mean())
    return loss, float((dx * u).sum()), float(dx.sum())


@dataclass(frozen=True)
class Drift:
    loss: np.ndarray  # (steps,) training loss at each step
    w: np.ndarray  # (steps + 1,) the weight, from its start
    b: np.ndarray  # (steps + 1,)
    running_mean: np.ndarray  # (steps + 1,)
    running_var: np.ndarray  # (steps + 1,)


def train_unit(
    mode: str, steps: int = 300, lr: float = 0.1, batch_size: int = 32, momentum: float = 0.1, seed: int = 0
) -> Drift:
    """SGD on the unit with fresh batches u ~ N(0, 1) each step. The running statistics are
    updated from each batch first (PyTorch order: unbiased variance stored), then used."""
    rng = np.random.default_rng(seed)
    w, b, mean, var = 0.5, 0.0, 0.0, 1.0
    ws, bs, means, variances, losses = [w], [b], [mean], [var], []
    for _ in range(steps):
        u = rng.standard_normal((batch_size, 1))
        t = 2.0 * u + 1.0
        batch_mean, batch_var = batch_stats(w * u + b, axis=1)
        mean = float(momentum_update(mean, batch_mean[0], momentum, "new"))
        var = float(momentum_update(var, batch_var[0] * batch_size / (batch_size - 1), momentum, "new"))
        loss, dw, db = step_gradients(mode, w, b, u, t, (mean, var))
        w, b = w - lr * dw, b - lr * db
        losses.append(loss)
        ws.append(w)
        bs.append(b)
        means.append(mean)
        variances.append(var)
    return Drift(np.array(losses), np.array(ws), np.array(bs), np.array(means), np.array(variances))


def train_eval_gap(sizes: Sequence[int], trials: int, seed: int) -> np.ndarray:
    """Mean |y_train - y_eval| per batch size (S,) for batches from N(0, 1): training mode
    normalizes with the batch's statistics, eval mode with converged running statistics
    (the population's: mean 0, variance 1)."""
    rng = np.random.default_rng(seed)
    gaps = []
    for b in sizes:
        x = rng.standard_normal((trials, b))
        y_train = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + EPS)
        y_eval = x / np.sqrt(1.0 + EPS)
        gaps.append(float(np.abs(y_train - y_eval).mean()))
    return np.array(gaps)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each ``window`` consecutive values (len - window + 1,): a readable loss curve."""
    window = max(1, min(window, len(values)))
    sums = np.cumsum(np.insert(np.asarray(values, np.float64), 0, 0.0))
    return (sums[window:] - sums[:-window]) / window
