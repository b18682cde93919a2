"""Histograms binned on the server: counts and edges, never raw samples."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Histogram:
    counts: np.ndarray  # (bins,) share of samples in each bin, sums to 1 over finite samples
    edges: np.ndarray  # (bins + 1,)

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.edges)


def bin_counts(values: np.ndarray, bins: int, value_range: tuple[float, float]) -> np.ndarray:
    """How many of the finite values fall in each of ``bins`` equal bins over ``value_range``
    (NumPy's rule: each bin holds its left edge, the last one its right edge too). Values outside
    the range are not counted. The live neuron chart bins the same way (lessons/neuron/live.js)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return np.histogram(v[np.isfinite(v)], bins=bins, range=value_range)[0]


def axis_range(
    *arrays: np.ndarray, base: tuple[float, float] = (-5.0, 5.0), step: float | None = None
) -> tuple[float, float]:
    """A stable axis: ``base``, widened only where the finite data leave it, so that moving a
    slider shifts a histogram rather than its axis. With ``step`` the widened ends are rounded
    outwards to a multiple of it, so the axis moves in whole steps (and a browser can repeat
    the computation exactly: min, max, floor, ceil and one multiplication)."""
    lo, hi = base
    for a in arrays:
        v = np.asarray(a, np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            low, high = float(v.min()), float(v.max())
            if step is not None:
                low, high = math.floor(low / step) * step, math.ceil(high / step) * step
            lo, hi = min(lo, low), max(hi, high)
    return lo, hi


def histogram(values: np.ndarray, bins: int = 60, value_range: tuple[float, float] | None = None) -> Histogram:
    """Share of the finite values in each of ``bins`` equal bins.

    ``value_range`` defaults to the values' span, widened to a unit interval
    around a constant so that a single-valued sample still draws one bar: a narrow one,
    centred on the value (an odd number of bins). Values outside an explicit range are not counted.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if value_range is None:
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    else:
        lo, hi = value_range
    if not hi > lo:
        lo, hi, bins = lo - 0.5, lo + 0.5, bins | 1
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    total = max(v.size, 1)
    return Histogram(counts=counts / total, edges=edges)


def bins_for(count: int, most: int = 80) -> int:
    """A bin count that keeps small samples from looking like a comb: about 2 sqrt(count)."""
    return int(np.clip(round(2 * np.sqrt(max(count, 1))), 8, most))


def mapped_histogram(values: np.ndarray, like: Histogram, scale: float, shift: float) -> Histogram | None:
    """Bin ``values``, the image of a sample under y = x * scale + shift, with ``like``'s
    edges (that sample's histogram) mapped through the same map.

    BatchNorm is such a map per channel, so the two histograms then have the same shape
    bin for bin (mirrored when scale < 0); separate binning would draw different shapes
    for the same data. None when the map gives no bins (scale 0 or not finite).
    """
    if not (np.isfinite(scale) and np.isfinite(shift)) or scale == 0:
        return None
    edges = like.edges * scale + shift
    if scale < 0:
        edges = edges[::-1]
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    # the output was rounded (float32): let the outer edges take values a hair beyond them
    slack = 1e-6 * (edges[-1] - edges[0])
    edges = np.concatenate([[edges[0] - slack], edges[1:-1], [edges[-1] + slack]])
    counts, _ = np.histogram(v, bins=edges)
    return Histogram(counts=counts / max(v.size, 1), edges=edges)
