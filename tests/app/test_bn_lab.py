"""bn-lab interactions: widgets by key, assertions on what the page says and draws."""

import json

import numpy as np
import pytest

from bn_core.batches import population_stats
from tests.app.helpers import assert_clean, open_page, plotly_array, text_of
from ui.i18n import catalog

PAGE = "lessons/bn_lab/bn-lab.py"
EN = catalog("en")


def bn_lab(**params):
    return open_page(PAGE, "en", **{k: str(v) for k, v in params.items()})


def after_histogram(at):
    """(centers, shares) of the 'after' histogram the page sends to the browser."""
    chart = next(c for c in at.get("plotly_chart") if "after" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    step = json.loads(chart.proto.spec)["data"][-1]  # a step line: x the bin edges, y each bin's share + 1 repeat
    edges, shares = plotly_array(step["x"]), plotly_array(step["y"])
    assert len(shares) == len(edges)
    return (edges[:-1] + edges[1:]) / 2, shares[:-1]


def test_defaults_render_with_table_and_running_charts():
    at = bn_lab()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 4  # before, after, running statistics, gap
    table = at.dataframe[0].value
    assert list(table[EN["bn_lab.col_channel"]]) == [0, 1, 2]


def test_pytorch_batch_of_one_shows_torchs_own_error_and_the_ways_out():
    at = bn_lab(n=1)
    assert_clean(at)
    assert at.warning[0].value == EN["bn_lab.refused"]
    assert at.code[0].value == (
        "ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 3])"
    )
    assert EN["bn_lab.ways_out"].strip()[:20] in text_of(at)
    assert EN["bn_lab.running_refused"] in text_of(at)
    assert EN["bn_lab.k_capped"].split("{")[0] not in text_of(at)


def test_keras_batch_of_one_silently_returns_beta():
    at = bn_lab(n=1, conv="keras", beta=0.5, eps=0.001, momentum=0.9)
    assert_clean(at)
    assert not at.code  # no refusal
    centers, shares = after_histogram(at)
    assert shares.max() == 1.0 and abs(centers[shares.argmax()] - 0.5) < 0.1


def test_image_batch_of_one_works_in_pytorch_and_shows_the_reduced_axes():
    at = bn_lab(n=1, layout="nchw", hw=4)
    assert_clean(at)
    assert not at.code
    assert "(0, 2, 3)" in text_of(at) and "**16**" in text_of(at)


def test_keras_puzzle_number_comes_out_of_the_engine():
    at = bn_lab()
    puzzle = next(d.value for d in at.dataframe if "y" in d.value.columns)
    assert list(puzzle["y"]) == ["-0.22619529", "0.0", "0.0", "-0.22619529"]


def test_running_statistics_converge_to_the_population():
    at = bn_lab(k=400, n=64)
    table = at.dataframe[0].value
    mean, var = population_stats(3, "normal", 2.0, 1.5)
    np.testing.assert_allclose(table[EN["bn_lab.col_running_mean"]], mean, rtol=0.05)
    np.testing.assert_allclose(table[EN["bn_lab.col_running_var"]], var, rtol=0.2)


def test_eval_mode_of_a_fresh_layer_divides_by_sqrt_one_plus_eps():
    at = bn_lab(k=0, mode="eval", conv="keras", momentum=0.9, eps=0.001)
    assert EN["bn_lab.running_none"] in text_of(at)
    latex = at.latex[-1].value
    assert r"\sqrt{1 + 0.001}" in latex


def test_formula_writes_small_eps_as_a_power_of_ten():
    assert r"+ 10^{-5}}}" in bn_lab().latex[-1].value


def test_switching_framework_translates_momentum_and_eps():
    at = bn_lab()
    at.radio(key="bnlab.conv").set_value("keras").run()
    assert at.slider(key="bnlab.momentum").value == pytest.approx(0.9)
    assert at.select_slider(key="bnlab.eps").value == 0.001
    assert "Keras momentum = 0.90" in text_of(at)


def test_eps_zero_constant_channel_keras_gives_nan_explained():
    at = bn_lab(dist="constant", eps=0, conv="keras", momentum=0.9)
    assert_clean(at)
    assert EN["bn_lab.nan"] in [w.value for w in at.warning]


def test_eps_zero_pytorch_training_is_refused_with_torchs_message():
    at = bn_lab(dist="constant", eps=0)
    assert at.code[0].value == "ValueError: batch_norm eps must be positive during training, but got 0.0"


def test_extreme_url_values_are_clamped_with_a_notice_and_stay_fast():
    at = bn_lab(n="1e9", c="-4", hw="99", k="100000", layout="nchw")
    assert_clean(at)
    assert len(at.warning) >= 4
    assert at.slider(key="bnlab.n").value == 1024 and at.slider(key="bnlab.c").value == 1
    assert EN["bn_lab.k_capped"].split("{")[0] in text_of(at)
