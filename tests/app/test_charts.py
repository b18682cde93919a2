"""Shared chart builders (ui/charts.py): what they draw is readable."""

import numpy as np
import pytest

from bn_core.histogram import histogram
from ui import charts


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
