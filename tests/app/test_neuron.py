"""neuron interactions: slider, presets, BatchNorm toggle, pin; all addressed by key."""

import json
import re

from tests.app.helpers import assert_clean, open_page, text_of
from ui.i18n import catalog

EN = catalog("en")


def neuron(**params):
    return open_page("lessons/neuron/neuron.py", "en", **{k: str(v) for k, v in params.items()})


def metric(at, label_key):
    return next(m.value for m in at.metric if m.label == EN[label_key])


def test_slider_move_changes_the_chart_and_the_numbers():
    at = neuron()
    before_chart, before_mean = at.get("plotly_chart")[1].proto.spec, metric(at, "neuron.out_mean")
    at.slider(key="neuron.w0").set_value(-1.0).run()
    assert_clean(at)
    assert at.get("plotly_chart")[1].proto.spec != before_chart
    assert metric(at, "neuron.out_mean") != before_mean
    assert float(metric(at, "neuron.zero_share").rstrip("%")) > 50  # w0 = -1 pushes most z below 0


def test_presets_set_the_classic_weights():
    at = neuron()
    at.button(key="neuron.preset_b").click().run()
    assert [at.slider(key=f"neuron.{w}").value for w in ("w1", "w2", "w0")] == [-0.5, 0.25, 1.0]


def test_zero_share_agrees_with_theory_on_the_page():
    at = neuron(n=100000)
    sampled = float(metric(at, "neuron.zero_share").rstrip("%"))
    theory = float(metric(at, "neuron.theory").rstrip("%"))
    assert abs(sampled - theory) < 0.5  # percentage points; the standard error is about 0.09


def test_batchnorm_before_activation_keeps_the_output_in_place():
    at = neuron(bn=1)
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 3
    first = metric(at, "neuron.out_mean")
    at.slider(key="neuron.w0").set_value(2.5).run()  # a shift of z: BN removes it exactly
    assert metric(at, "neuron.out_mean") == first
    at.slider(key="neuron.w1").set_value(-1.5).run()  # any weights: ReLU(BN(z)) has mean phi(0) = 0.399
    assert abs(float(metric(at, "neuron.out_mean")) - 0.399) < 0.02
    # the batch statistics BN used are those of z = -1.5 x1 + 0.5 x2 + 2.5: mean 2.5, variance 2.25 + 0.25
    line = next(m.value for m in at.markdown if EN["neuron.bn_stats"] in m.value)
    mean, var = (float(v) for v in re.findall(r"= (-?[0-9.]+)", line))
    assert abs(mean - 2.5) < 0.1 and abs(var - 2.5) < 0.25


def test_pin_draws_a_ghost_that_stays_while_weights_move():
    at = neuron()
    at.button(key="neuron.pin_button").click().run()
    at.slider(key="neuron.w0").set_value(-0.5).run()
    traces = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]
    assert [t["name"] for t in traces] == [EN["neuron.pinned"], EN["neuron.now"]]
    assert traces[0]["y"] != traces[1]["y"]
    at.button(key="neuron.unpin_button").click().run()
    assert len(json.loads(at.get("plotly_chart")[1].proto.spec)["data"]) == 1


def test_sigmoid_shows_the_saturated_share():
    at = neuron(act="sigmoid", w1=3, w2=3)
    assert EN["neuron.saturated"] in text_of(at)
