"""neuron interactions: weights, presets, BatchNorm placement, pin, plain sliders; widgets addressed by key.

The live element itself runs in a browser (tests/browser/test_neuron_live.py); here the weights it
would send are set in session state, as its callback does, or moved with the plain sliders."""

import math

import numpy as np
import pytest

from bn_core import neuron as core
from lessons.neuron.live import sample_bytes, weights_from
from tests.app.helpers import assert_clean, open_page, text_of
from ui.i18n import catalog

EN = catalog("en")


def neuron(**params):
    return open_page("lessons/neuron/neuron.py", "en", **{k: str(v) for k, v in params.items()})


def metric(at, label_key):
    return next(m.value for m in at.metric if m.label == EN[label_key])


def percent(text: str) -> float:
    return float(text.replace("%", "").replace(",", ".").strip())


def set_weights(at, w1=None, w2=None, w0=None):
    for name, value in (("w1", w1), ("w2", w2), ("w0", w0)):
        if value is not None:
            at.session_state[f"neuron.{name}"] = value
    return at.run()


def test_default_inputs_show_the_classic_picture_preset_a_no_zeros_preset_b_a_large_zero_bar():
    at = neuron()
    assert_clean(at)
    at.button(key="neuron.preset_a").click().run()
    assert percent(metric(at, "neuron.zero_share")) < 0.1
    at.button(key="neuron.preset_b").click().run()
    assert percent(metric(at, "neuron.zero_share")) > 60
    # the guidance above the charts says what the presets do, with the theory's numbers
    guidance = at.info[0].value
    a, b = (core.relu_moments(*core.pre_activation_params(*w, 5.0, 1.0))[0] for w in ((0.5, 0.5, 1), (-0.5, 0.25, 1)))
    assert f"{a:.1%}" in guidance and f"{b:.1%}" in guidance


def test_with_batchnorm_before_relu_both_presets_give_the_same_half_of_zeros():
    at = neuron(bn=1)
    shares = []
    for preset in ("a", "b"):
        at.button(key=f"neuron.preset_{preset}").click().run()
        shares.append(percent(metric(at, "neuron.zero_share")))
    assert all(abs(s - 50) < 2 for s in shares)  # BN(z) is a standard normal whatever the weights


def test_a_weight_change_updates_the_numbers_and_the_link():
    at = neuron()
    before = metric(at, "neuron.out_mean")
    set_weights(at, w0=-3.0)
    assert_clean(at)
    assert metric(at, "neuron.out_mean") != before
    assert at.query_params["w0"] == "-3"


def test_batchnorm_before_activation_keeps_the_output_in_place():
    at = neuron(bn=1)
    first = metric(at, "neuron.out_mean")
    set_weights(at, w0=2.5)  # a shift of z: BN removes it exactly
    assert metric(at, "neuron.out_mean") == first
    set_weights(at, w1=-1.5)  # any weights: ReLU(BN(z)) has mean phi(0) = 0.399
    assert abs(float(metric(at, "neuron.out_mean")) - 0.399) < 0.02
    # BN's batch statistics are those of z = -1.5 x1 + 0.5 x2 + 2.5 with x ~ N(5, 1): mean -2.5, variance 2.5
    line = next(m.value for m in at.markdown if EN["neuron.bn_stats"] in m.value)
    assert "-2.5" in line.replace("−", "-") or "-2.4" in line.replace("−", "-")


def test_batchnorm_after_relu_names_the_former_zeros_instead_of_claiming_none():
    at = neuron(bn=1, place="after", w1=-0.5, w2=0.25, w0=1)
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert EN["neuron.zero_share"] not in labels
    assert percent(metric(at, "neuron.former_zeros")) > 60  # the ReLU zeros, now all at -mu_B / sigma_B


def test_saturation_is_measured_on_the_sigmoid_not_on_the_normalized_output():
    at = neuron(act="sigmoid", w1=3, w2=3, bn=1, place="after")
    share = percent(metric(at, "neuron.saturated"))
    x = core.sample_inputs(10_000, 5.0, 1.0, seed=0)
    expected = core.summarize(core.activate(core.pre_activation(x, 3, 3, 1), "sigmoid"), "sigmoid").saturated_share
    assert share == pytest.approx(100 * expected, abs=0.05)
    assert share > 99  # z around 31: the sigmoid is flat there; BN's output in (-4, 4) would say ~0 %


def test_no_negative_zero_in_the_metrics():
    at = neuron(bn=1)
    assert not [m.value for m in at.metric if m.value.startswith(("-0.000", "−0.000"))]


def test_pin_keeps_the_output_histogram_and_unpin_clears_it():
    at = neuron()
    assert at.button(key="neuron.unpin_button").disabled
    at.button(key="neuron.pin_button").click().run()
    assert not at.button(key="neuron.unpin_button").disabled  # at once, not one run later
    pinned = at.session_state["neuron.pin"]
    assert math.isclose(pinned.counts.sum(), 1.0)
    at.button(key="neuron.unpin_button").click().run()
    assert "neuron.pin" not in at.session_state


def test_plain_sliders_move_the_weights_and_draw_plotly_charts():
    at = neuron(plain=1, bn=1)
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 3
    at.slider(key="neuron.w0.slider").set_value(-1.0).run()
    assert at.session_state["neuron.w0"] == -1.0
    assert at.session_state["neuron.revision"] == 1  # the live element will move its slider too
    assert EN["neuron.plain_note"] in text_of(at)


def test_a_reported_failure_switches_to_plain_sliders_and_says_so():
    at = neuron()
    at.session_state["neuron.live_failed"] = True
    at.run()
    assert [w.value for w in at.warning] == [EN["neuron.live_failed"]]
    assert len(at.get("plotly_chart")) == 2


@pytest.mark.parametrize("lang", ["ru", "zh"])
def test_numbers_follow_the_language(lang):
    at = open_page("lessons/neuron/neuron.py", lang, w0="-1")
    values = [m.value for m in at.metric]
    if lang == "ru":
        assert all("." not in v for v in values) and any("," in v for v in values)
    else:
        assert any("." in v for v in values)


@pytest.mark.parametrize(
    "sent",
    [None, {}, {"w": "abc"}, {"w": [1, 2]}, {"w": [1, float("nan"), 0]}, {"w": [1, "x", 0]}, {"w": [1e300, 0, 0]}],
)
def test_weights_from_the_browser_are_checked(sent):
    got = weights_from(sent, -3.0, 3.0)
    assert got is None or all(-3.0 <= w <= 3.0 for w in got)


def test_weights_from_the_browser_are_clamped_and_rounded_to_the_slider_step():
    assert weights_from({"w": [5, -0.123456, 0.5], "seq": 3}, -3.0, 3.0) == (3.0, -0.12, 0.5)


def test_the_sample_bytes_hold_the_float32_columns_after_the_header():
    x = core.sample_inputs(7, 5.0, 1.0, seed=1)
    data = sample_bytes(x, "7-5.0-1.0-1")
    assert data[:4] == b"BNS1" and len(data) == 4 + 4 + 12 + 4 + 8 * 7
    columns = np.frombuffer(data[24:], "<f4").reshape(2, 7)
    assert (columns.T == x).all()


def test_zero_weights_before_relu_say_the_exact_zeros_are_a_matter_of_rounding():
    """w₁ = w₂ = 0: a constant BN input. The page's float64 mean is exact (100 % zeros); PyTorch's BatchNorm1d
    misses it by rounding, and in float64 every output can come out positive (0 % exact zeros)."""
    import torch

    at = neuron(w1=0, w2=0, w0=0.3, bn=1)
    assert_clean(at)
    assert percent(metric(at, "neuron.zero_share")) == 100
    note = next(c.value for c in at.caption if "BatchNorm1d" in c.value)
    z = torch.full((10_000, 1), 0.3, dtype=torch.float64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the server computes (ui.server.one_torch_thread): the rounding depends on it
    try:
        outputs = [torch.nn.BatchNorm1d(1).to(dtype)(z.to(dtype)).detach() for dtype in (torch.float32, torch.float64)]
    finally:
        torch.set_num_threads(threads)
    for y in outputs:
        assert f"{float(y.abs().max()):.1e}" in note
        assert f"{float((torch.relu(y) == 0).double().mean()):.1%}" in note
    assert not any("BatchNorm1d" in c.value for c in neuron(w1=0.5, w2=0, w0=0.3, bn=1).caption)


@pytest.mark.parametrize(
    "lang, a, b", [("en", "(0.5, 0.5, 1)", "(−0.5, 0.25, 1)"), ("ru", "(0,5; 0,5; 1)", "(−0,5; 0,25; 1)")]
)
def test_preset_buttons_write_the_weights_in_the_languages_notation(lang, a, b):
    at = open_page("lessons/neuron/neuron.py", lang)
    labels = [at.button(key=f"neuron.preset_{name}").label for name in "ab"]
    assert labels[0].endswith(f"w = {a}") and labels[1].endswith(f"w = {b}")
