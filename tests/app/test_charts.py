"""Shared chart builders (ui/charts.py): what they draw is readable."""

import re

import numpy as np
import pytest

from bn_core.histogram import histogram
from tests.app.helpers import ROOT, node_eval
from ui import charts
from ui.i18n import catalog


@pytest.mark.parametrize("seed", [0, 1])
def test_a_marks_label_sits_above_the_highest_bin(seed):
    values = np.random.default_rng(seed).normal(1.0, 0.4, 2000)
    hist = histogram(values, 40, (-2.0, 4.0))
    fig = charts.histogram_figure(
        hist, title="t", x_title="x", y_title="y", name="n", cut=1.0, cut_label="population statistics"
    )
    [note] = fig.layout.annotations
    assert note.yref == "paper" and note.y == 1 and note.yanchor == "top"  # hangs from the top of the plot
    low, high = fig.layout.yaxis.range
    # a 13 px label in a plot of about 250 px takes its top 7 %: the highest bin stays below that
    assert low == 0 and hist.counts.max() / high < 0.85


def test_a_histogram_without_a_label_keeps_plotlys_range():
    hist = histogram(np.linspace(-1, 1, 100), 10, (-1.0, 1.0))
    fig = charts.histogram_figure(hist, title="t", x_title="x", y_title="y", name="n", cut=0.0)
    assert fig.layout.yaxis.range is None


def test_the_tests_build_figures_with_plotlys_validation():
    # the server skips validation (ui/charts.py); a misspelt property must fail here, where every page's
    # figures are built
    assert charts.VALIDATE
    with pytest.raises(ValueError, match="colr"):
        charts.figure([dict(type="scatter", x=[0, 1], y=[1, 2], line=dict(colr="red"))], {})


def test_the_confusion_matrix_sends_what_plotly_would_validate():
    # (the strict comparison of ui.charts.figure runs under the tests; the train page's results tab builds
    # this figure only after a finished run, which the browser tests reach)
    z = np.arange(100).reshape(10, 10)
    fig = charts.heatmap_figure(z, title="t", x_title="predicted", y_title="true")
    assert fig.data[0].colorscale[0][1] == "rgb(247,251,255)"


def test_binned_for_a_chart_draws_a_constant_output_as_a_narrow_bar():
    hist = charts.binned(np.zeros(1, dtype=np.float32), base=(-4.0, 4.0))
    full = np.flatnonzero(hist.counts)
    lo, hi = hist.edges[full[0]], hist.edges[full[0] + 1]
    assert lo < 0 < hi and hi - lo < 0.2


SUBSCRIPTED = {"neuron.chart_bn_z", "neuron.live_cut_bn"}  # chart texts: Plotly and live.js draw "μ_B" subscripted


def outside_math(text: str) -> str:
    return re.sub(r"`[^`]*`", "", re.sub(r"\$[^$]*\$", "", text))


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_notation_is_rendered_never_a_raw_underscore(lang):
    # Markdown writes "μ_B" as is: a text shows it as LaTeX ($\mu_B$); a chart title gets a subscript
    raw = {k for k, v in catalog(lang).items() if charts.SUBSCRIPT.search(outside_math(v))}
    assert raw == SUBSCRIPTED
    assert charts.notation(catalog(lang)["neuron.chart_bn_z"]).count("<sub>B</sub>") == 2


def test_the_live_charts_subscripts_follow_the_plotly_rule(tmp_path):
    texts = [v for lang in ("en", "ru", "zh") for v in catalog(lang).values()] + ["r_max σ²_B x_i", "a_bc_d_"]
    drawn = node_eval(
        tmp_path,
        ROOT / "lessons" / "neuron" / "live.js",
        "data.map((t) => mod.notationParts(t).map((p, i) => (i % 2 ? `<sub>${p}</sub>` : p)).join(''))",
        texts,
    )
    assert drawn == [charts.notation(v) for v in texts]


@pytest.mark.parametrize("lang, marks", [("en", ".,"), ("ru", ",\u202f"), ("zh", ".,")])
def test_chart_axes_write_numbers_as_the_pages_language(lang, marks, monkeypatch):
    monkeypatch.setattr("ui.i18n.current_lang", lambda: lang)
    layout = charts.base_layout("t", "x", "y", 300)
    assert layout["separators"] == marks
