"""``BatchNorm``: the thin stateful layer that owns the running statistics and the parameters, with PyTorch's
or Keras 3's semantics (as ``torch.nn.BatchNorm*d`` wraps ``torch.nn.functional.batch_norm``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from bn_core import keras, pytorch
from bn_core.batchnorm.conventions import CONVENTIONS, ConventionName, single_value_message
from bn_core.batchnorm.functional import (
    _normalize_axis,
    batch_norm_backward,
    momentum_update,
    normalize,
    reduced_axes,
    values_per_channel,
)


class BatchNorm:
    """A BatchNorm layer with PyTorch's or Keras 3's semantics, in NumPy.

    Args:
        num_features: C, the number of channels.
        convention: ``"pytorch"`` or ``"keras"``; sets every default and rule
            (see ``CONVENTIONS``).
        eps: added to the variance; default 1e-5 (pytorch) or 1e-3 (keras).
        momentum: pytorch: weight of the new batch statistic (default 0.1), or
            None for a cumulative average over all batches seen; keras: weight
            of the old value (default 0.99).
        axis: channel axis; default 1 (pytorch) or -1 (keras).
        affine: learn gamma (ones) and beta (zeros); if False both are None.
        track_running_stats: keep running_mean / running_var. If False
            (pytorch), batch statistics are used in eval mode too and the
            running statistics are None.

    Shape:
        Input: any rank with C on ``axis``: (N, C), (N, C, L), (N, C, H, W),
        (N, C, D, H, W), channels-last through ``axis=-1``, or (C,) under keras.
        Output: same shape and dtype as the input (float32 or float64).

        dtype: keras only: the layer's dtype policy, ``"float32"`` (Keras's default)
            or ``"float64"`` (a layer built with ``dtype="float64"``): the dtype of its
            output and its variables. Either way Keras 3's BatchNormalization computes in
            float32: it casts its input to ``result_type(dtype, "float32")``, which Keras's
            type promotion makes float32 for float64 too (checked against Keras 3.15.1).

    Parameters and running statistics are float64 arrays of shape (C,) that can
    be read and assigned. pytorch: torch itself computes the output and updates the
    running statistics in the input's dtype, as a module of that dtype does (float32
    buffers for a float32 input: ``bn_core.pytorch``); ``statistics`` are its kernel's.
    keras: every step in float32 with the torch ops of Keras 3's torch backend
    (``bn_core.keras``), the variance as E[x²] − E[x]²; the output is cast to ``dtype``
    and the moving statistics keep float32 values, as Keras's do.
    """

    def __init__(
        self,
        num_features: int,
        *,
        convention: ConventionName = "pytorch",
        eps: float | None = None,
        momentum: float | None | str = "default",
        axis: int | None = None,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: str | None = None,
    ) -> None:
        if convention not in CONVENTIONS:
            raise ValueError(f"convention must be 'pytorch' or 'keras', got {convention!r}")
        if num_features < 1:
            raise ValueError(f"num_features must be at least 1, got {num_features}")
        spec = CONVENTIONS[convention]
        self.convention: ConventionName = convention
        self.spec = spec
        self.num_features = int(num_features)
        self.eps = spec.eps if eps is None else float(eps)
        if self.eps < 0 or not math.isfinite(self.eps):
            raise ValueError(f"eps must be a finite number >= 0, got {eps}")
        self.momentum = spec.momentum if momentum == "default" else momentum
        if self.momentum is None and convention == "keras":
            raise ValueError("Keras has no cumulative-average momentum: give a number in [0, 1]")
        if self.momentum is not None and not 0.0 <= float(self.momentum) <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if convention == "pytorch" and dtype is not None:
            raise ValueError("dtype is a Keras setting: a PyTorch layer computes in its input's dtype")
        self.dtype = dtype or "float32"
        if self.dtype not in keras.DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.axis = spec.axis if axis is None else int(axis)
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.training = spec.training_by_default
        self.gamma: np.ndarray | None = np.ones(num_features) if affine else None
        self.beta: np.ndarray | None = np.zeros(num_features) if affine else None
        self.running_mean: np.ndarray | None = np.zeros(num_features) if track_running_stats else None
        self.running_var: np.ndarray | None = np.ones(num_features) if track_running_stats else None
        self.num_batches_tracked = 0
        self._cache: _Cache | None = None

    def train(self, mode: bool = True) -> BatchNorm:
        self.training = mode
        return self

    def eval(self) -> BatchNorm:
        return self.train(False)

    def uses_batch_stats(self, training: bool) -> bool:
        """PyTorch normalizes with batch statistics in eval mode too when it
        keeps no running statistics."""
        return training or self.running_mean is None

    def __call__(self, x: np.ndarray, training: bool | None = None) -> np.ndarray:
        """Normalize x. ``training=None`` means the layer's mode: for pytorch
        ``self.training`` (True on a fresh layer), for keras inference."""
        x = np.asarray(x)
        if training is None:
            training = self.training if self.convention == "pytorch" else False
        batch_mode = self._check(x, training)
        if self.convention == "keras":
            return self._keras_call(x, training, batch_mode)
        mean, var = self.statistics(x, training)
        updates = batch_mode and training and self.running_mean is not None
        y = self._torch_call(x, batch_mode, self.gamma, self.beta, updates)
        # backward() works in float64 from x_hat, computed there when asked for (as for Keras)
        x_hat = lambda: normalize(x, mean, var, None, None, self.eps, self.axis)[1]  # noqa: E731
        self._cache = _Cache(x_hat=x_hat, var=np.asarray(var, np.float64), batch_mode=batch_mode, dtype=x.dtype)
        return y

    def _factor(self) -> float:
        """The factor torch is given for a counted training batch (momentum None: 1 / batches)."""
        return 1.0 / self.num_batches_tracked if self.momentum is None else float(self.momentum)

    def _torch_call(
        self, x: np.ndarray, batch_mode: bool, gamma: np.ndarray | None, beta: np.ndarray | None, updates: bool
    ) -> np.ndarray:
        """What ``torch.nn.BatchNorm*d.forward`` does in x's dtype: count the batch, pass the factor
        (momentum, or 1 / batches tracked for momentum None) and keep the buffers it updated."""
        factor = self._factor() if updates else 0.0
        y, mean, var = pytorch.batch_norm(
            x, self.running_mean, self.running_var, gamma, beta, batch_mode, factor, self.eps, self.axis
        )
        if updates:
            self.running_mean, self.running_var = mean, var
        return y

    def _check(self, x: np.ndarray, training: bool) -> bool:
        """Refuse what the framework refuses, in PyTorch's order; whether x is normalized with its own statistics.
        torch's module counts a training batch (num_batches_tracked) once x has at least two axes, before
        any other check: a batch it then refuses (a batch of one, ε = 0, a wrong channel count) is counted."""
        if self.convention == "pytorch":
            if x.ndim < 2:
                raise ValueError(f"expected at least 2D input (N, C, ...), got {x.ndim}D input")
            if training and self.running_mean is not None:
                self.num_batches_tracked += 1
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"x must be float32 or float64, got {x.dtype}")
        self._check_shape(x.shape)
        batch_mode = self.uses_batch_stats(training)
        if batch_mode and self.spec.single_value_error:
            if values_per_channel(x.shape, self.axis) == 1:
                raise ValueError(single_value_message(x.shape))
            if self.eps <= 0.0:
                raise ValueError(f"batch_norm eps must be positive during training, but got {self.eps}")
        return batch_mode

    def statistics(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray]:
        """The mean and variance this layer normalizes ``x`` with, as its framework computes
        them (keras: in ``self.dtype``, the variance as E[x²] − E[x]²), without updating
        anything. Shape (C,) each."""
        if not self.uses_batch_stats(training):
            return self.running_mean, self.running_var
        if self.convention == "keras":
            return keras.moments(np.asarray(x), reduced_axes(np.ndim(x), self.axis), keras.COMPUTE_DTYPE)
        return pytorch.batch_moments(np.asarray(x), self.axis)

    def affine_map(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(scale, shift)``, each (C,), in float64: per channel the layer is y = x * scale + shift,
        scale = gamma / sqrt(var + eps) and shift = beta - mean * scale. Non-finite where the
        variance gives no finite scale (var + eps <= 0)."""
        return self.affine_of(*self.statistics(x, training))

    def affine_of(self, mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``affine_map``'s ``(scale, shift)`` for given statistics."""
        mean, var = np.asarray(mean, np.float64), np.asarray(var, np.float64)
        gamma = np.ones(self.num_features) if self.gamma is None else self.gamma
        beta = np.zeros(self.num_features) if self.beta is None else self.beta
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = gamma / np.sqrt(var + self.eps)
            return scale, beta - mean * scale

    def track(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What a call in training mode does to the running statistics, without computing the
        output: returns the batch's mean and variance the output would be normalized with. The
        same checks and updates as ``__call__(x, training=True)``."""
        x = np.asarray(x)
        self._check(x, training=True)
        if self.convention == "pytorch" and self.running_mean is not None:  # one torch call does both
            mean, var, self.running_mean, self.running_var = pytorch.update_stats(
                x, self.running_mean, self.running_var, self._factor(), self.axis
            )
            return mean, var
        mean, var = self.statistics(x, training=True)
        if self.running_mean is not None:
            self._keras_update(mean, var)
        self._keras_refuse_flat(x, training=True)
        return mean, var

    def _keras_refuse_flat(self, x: np.ndarray, training: bool) -> None:
        """Keras on torch trains on a 1-D input of C > 1 channels only as far as its moving statistics: its
        moments over no axes are over every value (torch.mean with an empty axis list), one number that
        updates every channel, and then shaping β (C values) to that one number fails."""
        if self.convention == "keras" and training and x.ndim == 1 and x.shape[0] > 1:
            raise ValueError(
                f"Keras cannot train on a 1-D input of {x.shape[0]} channels: its batch mean is one number over"
                " all of them (its moving statistics have already taken it)."
                f" Give the batch an axis: shape (1, {x.shape[0]})"
            )

    def _keras_update(self, mean: np.ndarray, var: np.ndarray) -> None:
        self.num_batches_tracked += 1
        m, dt = float(self.momentum), keras.COMPUTE_DTYPE
        self.running_mean = keras.moving_average(self.running_mean, mean, m, dt).astype(np.float64)
        self.running_var = keras.moving_average(self.running_var, var, m, dt).astype(np.float64)

    def _keras_call(self, x: np.ndarray, training: bool, batch_mode: bool) -> np.ndarray:
        """Keras 3's ``BatchNormalization.call`` on its torch backend: in float32, the output cast to ``self.dtype``."""
        dt = keras.COMPUTE_DTYPE
        mean, var = self.statistics(x, training)
        if batch_mode and training and self.running_mean is not None:
            self._keras_update(mean, var)
        self._keras_refuse_flat(x, batch_mode)
        y = keras.batch_normalization(x, mean, var, self.gamma, self.beta, self.eps, self.axis, dt).astype(self.dtype)
        # backward() works in float64 from x_hat; it is computed there, when asked for (the
        # running-statistics history calls the layer many times and never asks)
        x_hat = lambda: normalize(x, mean, var, None, None, self.eps, self.axis)[1]  # noqa: E731
        self._cache = _Cache(x_hat=x_hat, var=np.asarray(var, np.float64), batch_mode=batch_mode, dtype=y.dtype)
        return y

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Gradients of the last call's output.

        Returns:
            ``(dx, dgamma, dbeta)``; dx has dy's shape, the others shape (C,) or
            None without affine. After a call that used batch statistics, dx
            includes the paths through the batch mean and variance.
        """
        if self._cache is None:
            raise RuntimeError("backward() needs a forward call first")
        c = self._cache
        if callable(c.x_hat):  # the Keras layer computes x_hat only when a backward pass asks
            c = self._cache = replace(c, x_hat=c.x_hat())
        gamma = self.gamma if self.gamma is not None else np.ones(self.num_features)
        dx, dgamma, dbeta = batch_norm_backward(dy, c.x_hat, c.var, gamma, self.eps, self.axis, c.batch_mode)
        if not self.affine:
            dgamma = dbeta = None
        out = c.dtype
        return (
            dx.astype(out),
            None if dgamma is None else dgamma.astype(out),
            None if dbeta is None else dbeta.astype(out),
        )

    def update_running(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        """One training step's update of the running statistics under the PyTorch convention from a
        batch's per-channel mean and biased variance over ``n`` values, in float64: what a float64
        module's training call does (a call, or ``track``, lets torch do it in x's dtype)."""
        self.num_batches_tracked += 1
        stored_var = var * n / (n - 1) if (self.spec.unbiased_running_var and n > 1) else var
        if self.momentum is None:  # PyTorch: cumulative moving average, factor 1 / batches seen
            momentum, weighs = 1.0 / self.num_batches_tracked, "new"
        else:
            momentum, weighs = float(self.momentum), self.spec.momentum_weighs
        self.running_mean = momentum_update(self.running_mean, mean, momentum, weighs)
        self.running_var = momentum_update(self.running_var, stored_var, momentum, weighs)

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) == 0:
            raise ValueError("expected an input with at least one axis")
        channel = _normalize_axis(self.axis, len(shape))
        if shape[channel] != self.num_features:
            raise ValueError(f"expected {self.num_features} channels on axis {self.axis}, got input of shape {shape}")
        if 0 in shape:
            raise ValueError(f"the batch is empty: input shape {shape}")


@dataclass(frozen=True)
class _Cache:
    x_hat: np.ndarray | Callable[[], np.ndarray]  # (x's shape), or how to compute it
    var: np.ndarray
    batch_mode: bool
    dtype: np.dtype
