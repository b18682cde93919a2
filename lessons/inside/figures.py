"""Figures of the `inside` lesson: arrays in, Plotly figure out (no maths here)."""

from __future__ import annotations

import colorsys

import numpy as np
import plotly.graph_objects as go

from ui import charts

DEPTH = (0.45, 0.35)  # the oblique projection's step for one sample along N (into the page)
SHADES = {"front": 0.62, "top": 0.78, "side": 0.48}  # lightness per face, so the cube reads as solid


def set_colour(i: int, total: int, lightness: float) -> str:
    """Colour of shared set i of total: hues spread evenly, neighbours far apart."""
    hue = (i * 0.618034) % 1.0 if total > 8 else i / max(total, 1)
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.65)
    return f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)})"


def _point(c: float, s: float, n: float) -> tuple[float, float]:
    return c + n * DEPTH[0], s + n * DEPTH[1]


def cube_cells(ids: np.ndarray, hw: int) -> list[tuple[int, str, list[tuple[float, float]]]]:
    """The visible cells of the (N, C, H·W) cube as (set id, face, corners): the front face is
    sample 0 (C across, H·W up), the top face every sample's last position, the side face the
    last channel. Only the surface shows, so no cell hides another and order does not matter."""
    n, c = ids.shape
    cells = []
    for ch in range(c):
        for s in range(hw):
            corners = [_point(ch, s, 0), _point(ch + 1, s, 0), _point(ch + 1, s + 1, 0), _point(ch, s + 1, 0)]
            cells.append((int(ids[0, ch]), "front", corners))
    for k in range(n):
        for ch in range(c):
            corners = [_point(ch, hw, k), _point(ch + 1, hw, k), _point(ch + 1, hw, k + 1), _point(ch, hw, k + 1)]
            cells.append((int(ids[k, ch]), "top", corners))
        for s in range(hw):
            corners = [_point(c, s, k), _point(c, s + 1, k), _point(c, s + 1, k + 1), _point(c, s, k + 1)]
            cells.append((int(ids[k, c - 1]), "side", corners))
    return cells


def grid_cells(ids: np.ndarray) -> list[tuple[int, str, list[tuple[float, float]]]]:
    """An (N, C) table as flat cells: samples down, channels across."""
    n, c = ids.shape
    return [
        (int(ids[k, ch]), "front", [(ch, -k), (ch + 1, -k), (ch + 1, -k - 1), (ch, -k - 1)])
        for k in range(n)
        for ch in range(c)
    ]


def cells_figure(
    cells: list[tuple[int, str, list[tuple[float, float]]]],
    *,
    title: str,
    set_names: list[str],
    axis_labels: list[tuple[float, float, str]] = (),
    height: int = 300,
) -> go.Figure:
    """One filled trace per (set, face): Plotly fills a trace in one colour, and cells of a set
    on one face share it. Hovering a cell names its set."""
    total = len(set_names)
    groups: dict[tuple[int, str], list] = {}
    for sid, face, corners in cells:
        xs, ys = groups.setdefault((sid, face), ([], []))
        for x, y in [*corners, corners[0]]:
            xs.append(x)
            ys.append(y)
        xs.append(None)
        ys.append(None)
    traces = [
        dict(
            type="scatter",
            x=xs,
            y=ys,
            mode="lines",
            fill="toself",
            fillcolor=set_colour(sid, total, SHADES[face]),
            line=dict(color="white", width=1),
            name=set_names[sid],
            hoveron="fills",
            hoverinfo="name",
            showlegend=False,
        )
        for (sid, face), (xs, ys) in sorted(groups.items())
    ]
    notes = [dict(x=x, y=y, text=text, showarrow=False, font=dict(size=13)) for x, y, text in axis_labels]
    axis = dict(visible=False, scaleanchor=None)
    layout = dict(
        title=dict(text=title, font=dict(size=16)),
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(axis),
        yaxis=dict(axis, scaleanchor="x"),
        annotations=notes,
        plot_bgcolor="rgba(0,0,0,0)",
        font=dict(size=14),
    )
    return charts.figure(traces, layout)


def cube_axis_labels(n: int, c: int, hw: int) -> list[tuple[float, float, str]]:
    return [
        (c / 2, -0.5, "C"),
        (-0.5, hw / 2, "H·W"),
        (*_point(c + 0.9, hw, n / 2), "N"),
    ]


def grid_axis_labels(n: int, c: int) -> list[tuple[float, float, str]]:
    return [(c / 2, 0.45, "C"), (-0.45, -n / 2, "N")]


def devices_figure(
    means: np.ndarray,
    variances: np.ndarray,
    *,
    synced: tuple[float, float],
    naive_var: float,
    names: dict[str, str],
    title: str,
    x_title: str,
    height: int = 320,
) -> go.Figure:
    """Each device's mean and variance as points; the synchronized values and the naive
    average of variances as horizontal lines across the devices."""
    devices = np.arange(means.size)
    span = (-0.5, means.size - 0.5)
    blue, red, grey = "#2563eb", "#dc2626", "#6b7280"
    traces = [
        _points(devices, means, names["mean"], dict(color=blue, size=11)),
        _points(devices, variances, names["var"], dict(color=red, size=11, symbol="diamond")),
        _level(span, synced[0], names["sync_mean"], dict(color=blue, width=2)),
        _level(span, synced[1], names["sync_var"], dict(color=red, width=2)),
        _level(span, naive_var, names["naive"], dict(color=grey, width=2, dash="dot")),
    ]
    layout = dict(
        title=dict(text=title, font=dict(size=17)),
        xaxis=dict(title=dict(text=x_title), tickmode="array", tickvals=devices, range=span),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        font=dict(size=15),
    )
    return charts.figure(traces, charts.legend_below_plot(layout, extra_height=60))  # five entries


def _points(x: np.ndarray, y: np.ndarray, name: str, marker: dict) -> dict:
    return dict(type="scatter", x=x, y=y, mode="markers", name=name, marker=marker)


def _level(span: tuple[float, float], y: float, name: str, line: dict) -> dict:
    """A horizontal line across the devices."""
    return dict(type="scatter", x=span, y=[y, y], mode="lines", name=name, line=line)


def _below(title: str, x_title: str, y_title: str, height: int) -> dict:
    """A layout with the legend under the plot (ru/zh titles are long) and accuracy as a percentage."""
    layout = charts.base_layout(title, x_title, y_title, height)
    layout["legend"] = dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0)
    layout["yaxis"].update(tickformat=".0%", range=[0, 1.02])
    return layout


def gap_figure(
    sizes: np.ndarray,
    train_accuracy: np.ndarray,
    eval_accuracy: float,
    run_size: int,
    *,
    names: tuple[str, str, str],
    title: str,
    x_title: str,
    y_title: str,
    height: int = 340,
) -> go.Figure:
    """Training-mode accuracy per batch size (log axis) against the eval-mode level; the run's own
    batch size marked."""
    at_run = train_accuracy[list(sizes).index(run_size)]
    traces = [
        dict(
            type="scatter",
            x=sizes,
            y=train_accuracy,
            mode="lines+markers",
            name=names[0],
            line=dict(color=charts.PALETTE["main"], width=2.5),
        ),
        _level((sizes[0], sizes[-1]), eval_accuracy, names[1], dict(color=charts.PALETTE["second"], dash="dash")),
        _points([run_size], [at_run], names[2], dict(color=charts.PALETTE["accent"], size=14, symbol="diamond")),
    ]
    layout = _below(title, x_title, y_title, height)
    layout["xaxis"].update(type="log", tickmode="array", tickvals=sizes)
    return charts.figure(traces, layout)
