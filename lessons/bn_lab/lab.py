"""The `bn-lab` settings and the layer they describe: the batch on show, the layer, and the
running statistics of the training batches fed before it (cached)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from bn_core import BatchNorm
from bn_core.batches import sample_batch
from bn_core.batchnorm import values_per_channel
from bn_core.running import RunningTrace, trace_running_stats
from ui.i18n import t

TRACE_BUDGET = 20_000_000  # values sampled for the running-statistics history (about half a second)


@dataclass(frozen=True)
class Lab:
    """The page's settings, read once per run from session state."""

    n: int
    c: int
    layout: str
    hw: int
    dist: str
    mu: float
    sd: float
    seed: int
    bn: bool
    mode: str
    conv: str
    momentum: float
    cma: bool
    eps: float
    gamma: float
    beta: float
    k: int
    ch: int
    n1: int  # the batch size of the "Batch size 1" section (its own, so that it opens at 1)
    px: float  # the Keras puzzle: x, whether the call trains, the momentum, training calls before it
    ptrain: bool
    pm: float
    pk: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n, self.c) if self.layout == "nc" else (self.n, self.c, self.hw, self.hw)

    @property
    def momentum_or_none(self) -> float | None:
        return None if (self.cma and self.conv == "pytorch") else self.momentum

    def batch(self) -> np.ndarray:
        """The batch on show, in float32 as a framework's layer receives it. (N, C[, H, W])"""
        x = sample_batch(self.shape, self.dist, self.mu, self.sd, np.random.default_rng(self.seed))
        return x.astype(np.float32)

    def layer(self) -> BatchNorm:
        # The batches are channels-first, so the Keras layer is given axis=1.
        layer = BatchNorm(self.c, convention=self.conv, eps=self.eps, momentum=self.momentum_or_none, axis=1)
        layer.gamma, layer.beta = np.full(self.c, self.gamma), np.full(self.c, self.beta)
        return layer


TRACE_BLOCK = 50  # histories are computed this many batches at a time (see ``history``)


@st.cache_data(max_entries=32, show_spinner=False)
def traced(shape, dist, mu, sd, seed, conv, momentum, k) -> RunningTrace:
    """Running statistics after k earlier training batches from the same population."""
    rng = np.random.default_rng([seed, 1])  # a stream apart from the batch on show
    # eps never touches the running statistics; PyTorch's eps > 0 rule in training is met with the default.
    layer = BatchNorm(shape[1], convention=conv, momentum=momentum, axis=1)
    return trace_running_stats(layer, (sample_batch(shape, dist, mu, sd, rng).astype(np.float32) for _ in range(k)))


def history(shape, dist, mu, sd, seed, conv, momentum, k, most: int) -> RunningTrace:
    """The first k batches of a history traced to the next multiple of TRACE_BLOCK (at most ``most``):
    the batches come one after another from one generator, so they are the history of k batches
    itself, and moving the k slider finds it computed (one page run in five, not every one)."""
    whole = traced(shape, dist, mu, sd, seed, conv, momentum, min(-(-k // TRACE_BLOCK) * TRACE_BLOCK, most))
    return RunningTrace(whole.running_mean[: k + 1], whole.running_var[: k + 1], whole.gap[:k])


@dataclass(frozen=True)
class Fed:
    """The running statistics a layer has when the batch on show arrives."""

    trace: RunningTrace | None
    k_used: int
    untrainable: bool  # PyTorch cannot train on batches with one value per channel


def feed(lab: Lab, layer: BatchNorm) -> Fed:
    """Give ``layer`` the running statistics of ``lab.k`` earlier training batches (cached)."""
    untrainable = lab.conv == "pytorch" and values_per_channel(lab.shape, 1) == 1
    most = 0 if untrainable else TRACE_BUDGET // int(np.prod(lab.shape))
    k_used = min(lab.k, most)
    with st.spinner(t("bn_lab.feeding")):
        trace = history(lab.shape, lab.dist, lab.mu, lab.sd, lab.seed, lab.conv, lab.momentum_or_none, k_used, most)
    layer.running_mean, layer.running_var = trace.running_mean[-1].copy(), trace.running_var[-1].copy()
    layer.num_batches_tracked = k_used
    return Fed(trace, k_used, untrainable)


def run_layer(layer: BatchNorm, x: np.ndarray, training: bool) -> tuple[np.ndarray | None, str | None]:
    """The layer's output, or None and the framework's refusal (PyTorch raises ValueError)."""
    try:
        return layer(x, training=training), None
    except ValueError as refusal:
        return None, str(refusal)
