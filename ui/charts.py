"""Chart builders: arrays in, Plotly figure out. Histograms arrive pre-binned."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from bn_core.histogram import Histogram

PALETTE = {"main": "#2563eb", "ghost": "#9ca3af", "accent": "#dc2626", "second": "#16a34a", "third": "#9333ea"}
FONT = dict(size=15)  # readable on a projector


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, font=dict(size=17)),
        xaxis_title=x_title,
        yaxis_title=y_title,
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        font=FONT,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        bargap=0.0,
        barmode="overlay",
    )
    return fig


def histogram_figure(
    hist: Histogram,
    *,
    title: str,
    x_title: str,
    y_title: str,
    name: str,
    ghost: Histogram | None = None,
    ghost_name: str = "",
    cut: float | None = None,
    cut_label: str = "",
    x_range: tuple[float, float] | None = None,
    color: str = PALETTE["main"],
    height: int = 340,
) -> go.Figure:
    fig = go.Figure()
    if ghost is not None:
        fig.add_bar(
            x=ghost.centers,
            y=ghost.counts,
            width=ghost.widths,
            name=ghost_name,
            marker=dict(color=PALETTE["ghost"], opacity=0.45),
            hoverinfo="skip",
        )
    fig.add_bar(
        x=hist.centers,
        y=hist.counts,
        width=hist.widths,
        name=name,
        marker=dict(color=color, opacity=0.8),
        hovertemplate="%{x:.3g}: %{y:.2%}<extra></extra>",
    )
    if cut is not None:
        fig.add_vline(
            x=cut,
            line=dict(color=PALETTE["accent"], dash="dash", width=2),
            annotation_text=cut_label,
            annotation_position="top left",
        )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    return _layout(fig, title, x_title, y_title, height)


def lines_figure(
    x: np.ndarray,
    series: Sequence[tuple[str, np.ndarray, str]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    hlines: Sequence[tuple[float, str]] = (),
    height: int = 320,
    log_y: bool = False,
) -> go.Figure:
    """Lines ``(name, y, dash)`` over a shared x; ``hlines`` are labelled targets."""
    fig = go.Figure()
    colors = [PALETTE["main"], PALETTE["accent"], PALETTE["second"], PALETTE["third"]]
    for i, (name, y, dash) in enumerate(series):
        fig.add_scatter(
            x=x, y=y, mode="lines", name=name, line=dict(color=colors[i % len(colors)], dash=dash, width=2.5)
        )
    for value, label in hlines:
        fig.add_hline(y=value, line=dict(color=PALETTE["ghost"], dash="dot"), annotation_text=label)
    if log_y:
        fig.update_yaxes(type="log")
    return _layout(fig, title, x_title, y_title, height)


def display_range(*arrays: np.ndarray, base: tuple[float, float] = (-5.0, 5.0)) -> tuple[float, float]:
    """A stable axis: ``base``, widened only when the data leave it, so that
    moving a slider shifts the bars rather than the axis."""
    lo, hi = base
    for a in arrays:
        finite = np.asarray(a, np.float64)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return lo, hi
