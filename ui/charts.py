"""Chart builders: arrays in, Plotly figure out. Histograms arrive pre-binned.

Figures are built in one constructor call (``figure``) from plain dicts (traces too):
Plotly's ``update_layout``/``add_vline`` and trace objects such as ``go.Bar``
validate property by property, and a histogram built that way cost about 8 ms,
against about 1.4 ms this way (measured on this machine). Even that one validation
is 1.3 ms of a histogram's 3 ms from builder to Streamlit's JSON, and a slider release
redraws two to six figures, for every student of a class on one server process. So the
server skips it: the tests run every builder with validation on (tests/conftest.py sets
BN_LAB_VALIDATE_FIGURES=1), where a misspelt property fails.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import plotly.io

from bn_core.histogram import Histogram, axis_range, bins_for, histogram
from ui.i18n import separators

VALIDATE = os.environ.get("BN_LAB_VALIDATE_FIGURES") == "1"
# Plotly's "Blues" written out, as its validation would send it (a figure must send the same either way)
BLUES = plotly.colors.make_colorscale(plotly.colors.sequential.Blues)


def figure(data: Sequence[dict], layout: dict) -> go.Figure:
    """The figure of ``data`` (trace dicts) and ``layout``, validated only under the tests, where it
    must also be what the validated figure would send (a None Plotly drops, for one, is sent as null)."""
    data, layout = [_clean(trace) for trace in data], _clean(layout)
    checked = go.Figure(data=data, layout=layout) if VALIDATE else None  # raises on a misspelt property
    fig = go.Figure(data=data, layout=layout, _validate=False)
    if checked is not None and _sent(checked) != _sent(fig):
        raise ValueError(f"the figure differs without Plotly's validation: {_sent(fig)} != {_sent(checked)}")
    return fig


def _clean(spec: dict) -> dict:
    """``spec`` without None and empty lists or dicts, at any depth of dicts and lists of dicts: Plotly's
    validation drops them, and without it they would be sent (a null, an empty list of shapes)."""
    out = {}
    for key, value in spec.items():
        if isinstance(value, dict):
            value = _clean(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
            value = [_clean(v) for v in value]
        if value is None or (isinstance(value, (list, tuple, dict)) and not value):
            continue
        out[key] = value
    return out


def _sent(fig: go.Figure) -> dict:
    """The figure as Streamlit sends it (st.plotly_chart), read back."""
    return json.loads(plotly.io.to_json(fig.to_dict(), validate=False))


PALETTE = {"main": "#2563eb", "ghost": "#9ca3af", "accent": "#dc2626", "second": "#16a34a", "third": "#9333ea"}
LINE_COLORS = (PALETTE["main"], PALETTE["accent"], PALETTE["second"], PALETTE["third"])
# Each normalization one colour, in every lesson that compares them (train, experiments)
NORM_COLORS = {
    "batch": PALETTE["main"],
    "none": PALETTE["accent"],
    "layer": PALETTE["second"],
    "group": PALETTE["third"],
    "renorm": "#0891b2",
    "weight": "#ca8a04",
}


SUBSCRIPT = re.compile(r"_([A-Za-z0-9])(?![A-Za-z0-9])")  # "μ_B": a one-character subscript (not "r_max")


def notation(text: str) -> str:
    """A catalog's notation for Plotly, which draws HTML subscripts: "μ_B" becomes μ with a subscript B
    (lessons/neuron/live.js draws the same rule in its own charts)."""
    return SUBSCRIPT.sub(r"<sub>\1</sub>", text)


def base_layout(title: str, x_title: str, y_title: str, height: int, **extra) -> dict:
    return dict(
        title=dict(text=notation(title), font=dict(size=17)),
        xaxis=dict(title=dict(text=notation(x_title))),
        yaxis=dict(title=dict(text=notation(y_title))),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        font=dict(size=15),  # readable on a projector
        separators=separators(),  # the axes' numbers as the page's text writes them: 0,5 in Russian
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        **extra,
    )


def legend_below_plot(layout: dict, extra_height: int = 40) -> dict:
    """Move ``layout``'s legend under the plot, off a long title (a legend above the plot wraps onto
    the title when its names are long, as Russian ones are). The legend is placed in the figure's own
    coordinates at its bottom edge, so Plotly widens the bottom margin for it however many rows it
    wraps to, and the x-axis title stays above it (a legend at a fraction of the plot's height below
    the axis ran into the axis title once the plot was short). ``extra_height`` keeps the plot's size."""
    layout["legend"] = dict(orientation="h", yref="container", y=0.0, yanchor="bottom", xanchor="left", x=0.0)
    layout["xaxis"]["automargin"] = True
    layout["height"] = layout["height"] + extra_height
    return layout


LABEL_ROOM = 1.22  # a labelled histogram's y axis reaches this times its highest bin


def _vline(x: float, label: str) -> tuple[dict, dict]:
    line = dict(
        type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line=dict(color=PALETTE["accent"], dash="dash", width=2)
    )
    note = dict(
        x=x,
        y=1,
        yref="paper",
        text=label,
        showarrow=False,
        xanchor="right",
        yanchor="top",
        font=dict(color=PALETTE["accent"], size=13),
        bgcolor="rgba(255,255,255,0.8)",
    )
    return line, note


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
    more_cuts: Sequence[float] = (),
    x_range: tuple[float, float] | None = None,
    color: str = PALETTE["main"],
    height: int = 340,
) -> go.Figure:
    traces = []
    if ghost is not None:
        traces.append(step_trace(ghost, name=ghost_name, color=PALETTE["ghost"], opacity=0.45, hover=False))
    traces.append(step_trace(hist, name=name, color=color, opacity=0.8, hover=True))
    shapes, notes = ([], [])
    if cut is not None:
        line, note = _vline(cut, cut_label)
        shapes, notes = [line], [note]
    shapes += [_vline(x, "")[0] for x in more_cuts]  # further marks of the same kind, labelled by the first
    layout = base_layout(title, x_title, y_title, height, shapes=shapes, annotations=notes)
    layout["yaxis"].update(tickformat=".1~%", rangemode="tozero")
    if cut is not None and cut_label:  # room above the highest bin for the label, which would cover the tops
        top = max(float(np.max(h.counts, initial=0.0)) for h in (hist, ghost) if h is not None)
        layout["yaxis"]["range"] = [0.0, (top or 1.0) * LABEL_ROOM]
    if x_range is not None:
        layout["xaxis"]["range"] = list(x_range)
    return figure(traces, layout)


def step_trace(hist: Histogram, *, name: str, color: str, opacity: float, hover: bool) -> dict:
    """A histogram as one filled step line over the bin edges. It looks like bars with no gaps,
    but the browser draws one SVG path instead of one per bar: a slider move that redraws two
    80-bin histograms took 10-15 ms less from key press to chart (measured with the floor app).
    x holds the edges and y each bin's share, repeated once at the right edge (so is the
    bin's range, which the hover shows)."""
    bins = np.column_stack([hist.edges[:-1], hist.edges[1:]])
    return dict(
        type="scatter",
        x=hist.edges,
        y=np.append(hist.counts, hist.counts[-1:]),
        customdata=np.vstack([bins, bins[-1:]]) if hover else None,
        name=name,
        mode="lines",
        line=dict(shape="hv", width=1.5, color=color),
        fill="tozeroy",
        fillcolor=rgba(color, opacity),
        hovertemplate="%{customdata[0]:.3g} … %{customdata[1]:.3g}: %{y:.2%}<extra></extra>" if hover else None,
        hoverinfo=None if hover else "skip",
    )


def rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


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
    legend_below: bool = False,
) -> go.Figure:
    """Lines ``(name, y, dash)`` over a shared x; ``hlines`` are targets ``(y, label)``, the i-th a
    dotted line in the i-th line's colour named in the legend (a label written in the plot sat on
    the curve that approaches it). ``legend_below`` keeps the legend off a long title."""
    traces = [
        dict(
            type="scatter", x=x, y=y, mode="lines", name=name, line=dict(color=LINE_COLORS[i % 4], dash=dash, width=2.5)
        )
        for i, (name, y, dash) in enumerate(series)
    ]
    ends = [x[0], x[-1]] if len(x) else []
    traces += [
        dict(
            type="scatter",
            x=ends,
            y=[value] * len(ends),
            mode="lines",
            name=label,
            line=dict(color=LINE_COLORS[i % 4], dash="dot", width=1.5),
            hoverinfo="name",
        )
        for i, (value, label) in enumerate(hlines)
    ]
    layout = base_layout(title, x_title, y_title, height)
    if legend_below:
        legend_below_plot(layout, extra_height=40 + 20 * len(hlines))  # a legend row for each target too
    if log_y:
        layout["yaxis"].update(type="log", **log_ticks(np.concatenate([np.ravel(y) for _, y, _ in series])))
    return figure(traces, layout)


def log_ticks(values: np.ndarray) -> dict:
    """Tick values 1, 2, 5 × 10^k across the positive values, written in full (0.02, 0.05, 0.1):
    Plotly's own log ticks label each digit of a decade alone ("2, 1, 9, 8 …") or only its mantissa."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return {}
    low, high = np.floor(np.log10(v.min())), np.ceil(np.log10(v.max()))
    ticks = [m * 10.0**k for k in np.arange(low, high + 1) for m in (1, 2, 5)]
    ticks = [x for x in ticks if v.min() / 2.5 <= x <= v.max() * 2.5]
    return dict(tickvals=ticks, ticktext=[f"{x:.3g}" for x in ticks])


def binned(values: np.ndarray, base: tuple[float, float] = (-5.0, 5.0)) -> Histogram:
    """Bin samples for drawing: a bin count that suits the sample size, over a stable axis. A sample
    of one repeated value is a narrow bar centred on it (not a bin of the axis that starts there)."""
    finite = np.asarray(values, dtype=np.float64)[np.isfinite(values)]
    if finite.size and finite.min() == finite.max():
        return histogram(finite, bins_for(finite.size))
    return histogram(values, bins_for(np.size(values)), display_range(values, base=base))


def display_range(*arrays: np.ndarray, base: tuple[float, float] = (-5.0, 5.0)) -> tuple[float, float]:
    """A stable axis: ``base``, widened only when the data leave it (see ``bn_core.histogram.axis_range``)."""
    return axis_range(*arrays, base=base)


def curves_figure(
    runs: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    train_name: str,
    val_name: str,
    height: int = 340,
    percent: bool = False,
) -> go.Figure:
    """Training curves of several runs ``(label, epochs, train, validation)``: one colour
    per run, training solid and validation dashed."""
    traces = []
    for i, (label, x, train_y, val_y) in enumerate(runs):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        for y, kind, dash in ((train_y, train_name, "solid"), (val_y, val_name, "dash")):
            traces.append(
                dict(
                    type="scatter",
                    x=x,
                    y=y,
                    mode="lines+markers" if len(x) < 30 else "lines",
                    name=f"{label} · {kind}",
                    line=dict(color=color, dash=dash, width=2.5),
                    marker=dict(size=5),
                )
            )
    layout = legend_below_plot(base_layout(title, x_title, y_title, height), extra_height=0)
    if percent:
        layout["yaxis"]["tickformat"] = ".0%"
    return figure(traces, layout)


def heatmap_figure(z: np.ndarray, *, title: str, x_title: str, y_title: str, height: int = 420) -> go.Figure:
    """A count matrix with its numbers written in the cells (a confusion matrix)."""
    labels = [str(i) for i in range(z.shape[0])]
    trace = dict(
        type="heatmap",
        z=z,
        x=labels,
        y=labels,
        colorscale=BLUES,
        showscale=False,
        texttemplate="%{z}",
        hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}: %{{z}}<extra></extra>",
    )
    layout = base_layout(title, x_title, y_title, height)
    layout["yaxis"]["autorange"] = "reversed"
    layout["xaxis"]["type"] = layout["yaxis"]["type"] = "category"
    return figure([trace], layout)


def bars_figure(labels: Sequence[str], values: np.ndarray, *, title: str, highlight: int, height: int = 300):
    """Class probabilities as bars, one highlighted."""
    colors = [PALETTE["accent"] if i == highlight else PALETTE["main"] for i in range(len(labels))]
    trace = dict(
        type="bar", x=list(labels), y=values, marker=dict(color=colors), hovertemplate="%{x}: %{y:.1%}<extra></extra>"
    )
    layout = base_layout(title, "", "", height, bargap=0.0)
    layout["yaxis"].update(tickformat=".0%", range=[0, 1])
    layout["xaxis"]["type"] = "category"
    return figure([trace], layout)
