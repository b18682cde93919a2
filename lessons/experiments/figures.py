"""The `experiments` lesson's charts: arrays in, Plotly figure out (no maths, no Streamlit)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from bn_core.histogram import Histogram
from ui import charts

COLORS = {
    **charts.NORM_COLORS,
    "noisy": "#f97316",
    "paper_bn": charts.NORM_COLORS["batch"],
    "paper_gn": charts.NORM_COLORS["group"],
}
# besides its colour, each network's line and dots differ in dash and symbol (for colour-blind students)
DASHES = {"none": "dot", "noisy": "dash"}
SYMBOLS = {"none": "square", "batch": "circle", "noisy": "diamond"}


def _layout(title: str, x_title: str, y_title: str, height: int) -> dict:
    layout = charts.base_layout(title, x_title, y_title, height)
    layout["title"]["font"]["size"] = 15  # half-width charts: the titles must fit (ru is the longest)
    # the legend under the x axis's title, not over it
    layout["legend"] = dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0)
    layout["xaxis"]["title"]["standoff"] = 4
    return layout


def by_batch(
    sizes: Sequence[int],
    series: Sequence[tuple[str, str, np.ndarray, str]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    shade_below: float | None = None,
    shade_label: str = "",
    log_y: bool = False,
    height: int = 420,
) -> go.Figure:
    """Error against batch size (log 2 axis), one line ``(name, colour key, values, dash)`` per
    series, or ``(name, colour key, values, dash, (lowest, highest))`` with error bars spanning the
    seeds; ``shade_below`` greys the batch sizes up to it (where a rule of thumb says BN suffers)."""
    traces = []
    for name, key, values, dash, *spread in series:
        trace = dict(
            type="scatter",
            x=list(sizes),
            y=values,
            mode="lines+markers",
            name=name,
            line=dict(color=COLORS[key], dash=dash, width=2.5),
            marker=dict(size=7),
            hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
        )
        if spread:
            low, high = (np.asarray(v, np.float64) for v in spread[0])
            trace["error_y"] = dict(
                type="data", symmetric=False, array=high - values, arrayminus=values - low,
                color=COLORS[key], thickness=1.5, width=5,
            )  # fmt: skip
            trace["hovertemplate"] = (
                f"{name}<br>%{{x}}: %{{y:.1%}} (%{{customdata[0]:.1%}}–%{{customdata[1]:.1%}})<extra></extra>"
            )
            trace["customdata"] = np.column_stack([low, high])
        traces.append(trace)
    layout = _layout(title, x_title, y_title, height)
    layout["xaxis"].update(type="log", tickvals=list(sizes), ticktext=[str(s) for s in sizes])
    if log_y:  # errors from 1 % to 70 % on one chart: each factor of two gets the same height
        ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
        low = min(float(np.nanmin(values if not spread else spread[0][0])) for _, _, values, _, *spread in series)
        layout["yaxis"].update(type="log", tickvals=[x for x in ticks if x >= low / 2.5], tickformat=".0%")
    else:
        layout["yaxis"].update(tickformat=".0%", rangemode="tozero")
    if shade_below is not None:
        layout["shapes"] = [
            dict(
                type="rect",
                x0=min(sizes) / 1.3,
                x1=shade_below,
                y0=0,
                y1=1,
                yref="paper",
                fillcolor="rgba(220,38,38,0.08)",
                line=dict(width=0),
                layer="below",
            )
        ]
        layout["annotations"] = [
            dict(
                x=np.log10(min(sizes) / 1.3),
                y=0,
                yref="paper",
                text=shade_label,
                showarrow=False,
                xanchor="left",
                yanchor="bottom",
                font=dict(size=12, color=charts.PALETTE["accent"]),
            )
        ]
    return charts.figure(traces, layout)


def phases(
    hists: Sequence[Histogram],
    names: Sequence[str],
    *,
    title: str,
    x_title: str,
    y_title: str,
    log_x: bool = False,
    limits: Sequence[float] = (),
    height: int = 320,
) -> go.Figure:
    """Histograms of one quantity over the phases of a run, early (light) to late (dark), as step
    lines; ``limits`` are the clip's bounds, drawn as dashed lines."""
    traces = []
    for i, (hist, name) in enumerate(zip(hists, names, strict=True)):
        alpha = 0.3 + 0.7 * i / max(len(hists) - 1, 1)
        trace = charts.step_trace(hist, name=name, color=COLORS["renorm"], opacity=0.08, hover=True)
        trace["line"]["color"] = charts.rgba(COLORS["renorm"], alpha)
        traces.append(trace)
    layout = _layout(title, x_title, y_title, height)
    layout["yaxis"].update(tickformat=".0%", rangemode="tozero")
    if log_x:
        ticks = [1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8]
        layout["xaxis"].update(type="log", tickvals=ticks, ticktext=["1/8", "1/4", "1/2", "1", "2", "4", "8"])
    layout["shapes"] = [
        dict(
            type="line",
            x0=v,
            x1=v,
            y0=0,
            y1=1,
            yref="paper",
            line=dict(color=charts.PALETTE["accent"], dash="dash", width=1.5),
        )
        for v in limits
    ]
    return charts.figure(traces, layout)


def over_steps(
    steps: Sequence[int],
    series: Sequence[tuple[str, str, np.ndarray]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    bands: Sequence[tuple[str, str, np.ndarray, np.ndarray]] = (),
    log_y: bool = False,
    percent: bool = False,
    height: int = 340,
) -> go.Figure:
    """Lines ``(name, colour key, values)`` over training steps, and shaded bands
    ``(name, colour key, low, high)`` behind them."""
    traces = []
    for name, key, low, high in bands:
        color = COLORS[key]
        edge = dict(type="scatter", x=list(steps), mode="lines", line=dict(width=0, color=color), hoverinfo="skip")
        traces.append(dict(edge, y=low, showlegend=False, legendgroup=name))
        traces.append(
            dict(edge, y=high, fill="tonexty", fillcolor=charts.rgba(color, 0.25), name=name, legendgroup=name)
        )
    for name, key, values in series:
        line = dict(color=COLORS[key], width=2.5, dash=DASHES.get(key, "solid"))
        traces.append(dict(type="scatter", x=list(steps), y=values, mode="lines", name=name, line=line))
    layout = _layout(title, x_title, y_title, height)
    if log_y:
        values = [np.ravel(v) for *_, v in series] + [np.ravel(b[3]) for b in bands] + [np.ravel(b[2]) for b in bands]
        layout["yaxis"].update(type="log", **charts.log_ticks(np.concatenate(values) if values else np.ones(1)))
    if percent:
        layout["yaxis"].update(tickformat=".0%", range=[0, 1.02])
    return charts.figure(traces, layout)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    keys: Sequence[str],
    texts: Sequence[str],
    *,
    title: str,
    y_title: str,
    height: int = 300,
) -> go.Figure:
    """One bar per run, coloured by its normalization (``keys``), written ``texts`` above it."""
    trace = dict(
        type="bar",
        x=list(labels),
        y=list(values),
        marker=dict(color=[COLORS[k] for k in keys]),
        text=list(texts),
        textposition="outside",
        hovertemplate="%{x}: %{y:.1%}<extra></extra>",
    )
    layout = _layout(title, "", y_title, height)
    layout["yaxis"].update(tickformat=".0%", rangemode="tozero")
    layout["xaxis"]["type"] = "category"
    return charts.figure([trace], layout)


def seeds(
    rows: Sequence[tuple[str, str, Sequence[float]]],
    *,
    title: str,
    x_title: str,
    log_x: bool = False,
    percent: bool = False,
) -> go.Figure:
    """One row per network ``(name, colour key, a value per seed)``: a dot per seed and a tick at their mean."""
    traces = []
    for name, key, values in rows:
        values = np.asarray(values, np.float64)
        mark = dict(color=COLORS[key], symbol=SYMBOLS.get(key, "circle"), size=12, line=dict(width=1, color="white"))
        traces.append(
            dict(type="scatter", x=values, y=[name] * len(values), mode="markers", marker=mark, name=name,
                 hovertemplate=f"{name}: %{{x:{'.1%' if percent else '.3g'}}}<extra></extra>")
        )  # fmt: skip
        traces.append(
            dict(type="scatter", x=[values.mean()], y=[name], mode="markers", showlegend=False, hoverinfo="skip",
                 marker=dict(color=COLORS[key], symbol="line-ns-open", size=28, line=dict(width=3)))
        )  # fmt: skip
    layout = _layout(title, x_title, "", 110 + 48 * len(rows))
    layout["showlegend"] = False  # the rows are named on the y axis
    layout["yaxis"].update(type="category", autorange="reversed", automargin=True)
    if log_x:
        layout["xaxis"].update(type="log", **charts.log_ticks(np.concatenate([np.ravel(v) for *_, v in rows])))
    if percent:
        layout["xaxis"].update(tickformat=".0%")
    return charts.figure(traces, layout)
