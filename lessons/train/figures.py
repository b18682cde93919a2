"""The `train` lesson's charts over training steps: arrays in, Plotly figure out.

Each run has a colour by its normalization (BatchNorm blue, none red), so that a pair
reads the same way in every chart: the curves, the percentile bands and the histograms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from bn_core.histogram import histogram
from ui import charts


@dataclass(frozen=True)
class Series:
    """One run's values over its measured steps."""

    name: str
    norm: str
    steps: np.ndarray  # (measures,)
    values: np.ndarray  # (measures,) for a curve; (measures, 3) 15th/50th/85th percentiles for a band


def _layout(title: str, x_title: str, y_title: str, height: int) -> dict:
    layout = charts.base_layout(title, x_title, y_title, height)
    # the legend under the plot, so that neither the title nor the axis titles are covered (ru/zh are longer)
    layout["legend"] = dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0)
    layout["margin"] = dict(l=10, r=10, t=50, b=10)
    layout["xaxis"]["title"]["standoff"] = 4
    return layout


def bands(series: Sequence[Series], *, title: str, x_title: str, y_title: str, height: int = 330) -> go.Figure:
    """Per run, the 15th-85th percentile band and the median over steps (Ioffe and Szegedy, Figure 1(b, c))."""
    traces = []
    for s in series:
        color = charts.NORM_COLORS[s.norm]
        low, median, high = s.values[:, 0], s.values[:, 1], s.values[:, 2]
        edge = dict(type="scatter", x=s.steps, mode="lines", line=dict(width=0, color=color), hoverinfo="skip")
        edge.update(showlegend=False, legendgroup=s.name)
        traces.append(dict(edge, y=low))
        traces.append(dict(edge, y=high, fill="tonexty", fillcolor=charts.rgba(color, 0.22)))  # the band
        traces.append(
            dict(
                type="scatter",
                x=s.steps,
                y=median,
                customdata=np.column_stack([low, high]),
                mode="lines",
                name=s.name,
                legendgroup=s.name,
                line=dict(color=color, width=2.5),
                hovertemplate="%{x}: %{customdata[0]:.3g} · %{y:.3g} · %{customdata[1]:.3g}<extra></extra>",
            )
        )
    return charts.figure(traces, _layout(title, x_title, y_title, height))


def histograms(
    samples: Sequence[tuple[str, str, np.ndarray]], *, title: str, x_title: str, y_title: str, height: int = 320
) -> go.Figure:
    """Histograms ``(name, norm, values)`` overlaid on the same bins (binned here, not in the browser)."""
    lo, hi = charts.display_range(*[v for _, _, v in samples], base=(0.0, 0.0))
    bins = 40
    traces = [
        charts.step_trace(
            histogram(v, bins, (lo, hi)), name=name, color=charts.NORM_COLORS[norm], opacity=0.35, hover=True
        )
        for name, norm, v in samples
    ]
    layout = _layout(title, x_title, y_title, height)
    layout["yaxis"].update(tickformat=".0%", rangemode="tozero")
    return charts.figure(traces, layout)
