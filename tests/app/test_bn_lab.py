"""bn-lab interactions: widgets by key, assertions on what the page says and draws."""

import json
import re

import numpy as np
import pytest
import torch

from bn_core.batches import BATCH_SIZES, population_stats, sample_batch
from lessons.bn_lab import lab, sections
from tests.app.helpers import assert_clean, open_page, plotly_array, text_of
from ui.i18n import LANGUAGES, catalog, num

PAGE = "lessons/bn_lab/bn-lab.py"
EN = catalog("en")


def bn_lab(lang="en", **params):
    return open_page(PAGE, lang, **{k: str(v) for k, v in params.items()})


def refusals(at):
    """The code boxes with a framework's refusal (not the section's script, ui/code.py)."""
    return [c for c in at.code if c.language != "python"]


def chart(at, key):
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def histogram_of(at, key):
    """(edges, shares) of a histogram the page sends to the browser (a step line: x the bin
    edges, y each bin's share and one repeat)."""
    step = chart(at, key)["data"][-1]
    edges, shares = plotly_array(step["x"]), plotly_array(step["y"])
    assert len(shares) == len(edges)
    return edges, shares[:-1]


def page_batch(n=32, c=3, dist="normal", mu=2.0, sd=1.5, seed=0):
    """The batch the page shows at these settings, drawn here the way the lesson says it draws it."""
    return sample_batch((n, c), dist, mu, sd, np.random.default_rng(seed)).astype(np.float32)


# --- organisation: one question per section, deep links, only the chosen section runs ---


def test_defaults_show_the_batch_statistics_section_only():
    at = bn_lab()
    assert_clean(at)
    assert [c.key for c in at.get("plotly_chart")] == ["bnlab.chart_before", "bnlab.chart_after"]
    assert list(at.dataframe[0].value[EN["bn_lab.col_channel"]]) == ["0", "1", "2"]
    assert widget_keys(at) == {
        *("bnlab.section", "bnlab.conv", "bnlab.bn", "bnlab.n", "bnlab.dist", "bnlab.gamma", "bnlab.beta", "bnlab.ch"),
        *("bnlab.mu", "bnlab.sd", "bnlab.seed", "bnlab.c", "bnlab.layout", "bnlab.hw"),  # in two folded expanders
    }


def widget_keys(at):
    kinds = ("slider", "select_slider", "radio", "selectbox", "toggle", "checkbox", "number_input", "button_group")
    return {w.key for kind in kinds for w in at.get(kind) if w.key and w.key.startswith("bnlab.")}


@pytest.mark.parametrize(
    ("section", "keys"),
    [
        ("running", {"bnlab.mode", "bnlab.n", "bnlab.momentum", "bnlab.cma", "bnlab.k", "bnlab.dist", "bnlab.ch"}),
        ("one", {"bnlab.n1", "bnlab.c", "bnlab.layout", "bnlab.hw", "bnlab.mode"}),
        ("puzzle", {"bnlab.px", "bnlab.ptrain", "bnlab.pm", "bnlab.pk"}),
        ("eps", {"bnlab.eps", "bnlab.dist", "bnlab.mu", "bnlab.n", "bnlab.mode", "bnlab.ch"}),
    ],
)
def test_each_section_shows_only_its_own_controls(section, keys):
    at = bn_lab(section=section)
    shared = {"bnlab.section"} | ({"bnlab.conv"} if section != "puzzle" else set())
    assert widget_keys(at) == keys | shared


@pytest.mark.parametrize("section", list(sections.SECTIONS))
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_section_renders_in_every_language(section, lang):
    at = bn_lab(lang, section=section)
    assert_clean(at)
    assert at.query_params.get("section", "stats") == section


def test_a_deep_link_opens_its_section_and_the_picker_writes_the_link():
    at = bn_lab(section="eps", eps=0.01)
    assert at.select_slider(key="bnlab.eps").value == 0.01
    assert not at.get("plotly_chart") or "bnlab.chart_running" not in [c.key for c in at.get("plotly_chart")]
    at.get("button_group")[0].set_value("running").run()
    assert_clean(at)
    assert at.query_params["section"] == "running"
    assert at.select_slider(key="bnlab.momentum").value == pytest.approx(0.1)
    assert at.query_params["eps"] == "0.01"  # the eps section's value survives a section it does not show


@pytest.mark.parametrize("conv", ["pytorch", "keras"])
def test_a_history_cut_from_a_longer_one_is_the_history_of_that_many_batches(conv):
    settings = ((8, 3), "normal", 2.0, 1.5, 4, conv, 0.1)
    for k in (0, 1, 37, 50):
        cut = lab.history(*settings, k, most=500)  # from the trace of 50 batches
        direct = lab.traced(*settings, k)
        np.testing.assert_array_equal(cut.running_mean, direct.running_mean)
        np.testing.assert_array_equal(cut.running_var, direct.running_var)
        np.testing.assert_array_equal(cut.gap, direct.gap)
    assert len(lab.history(*settings, 37, most=40).gap) == 37  # the budget caps the longer trace, not k


def test_only_the_chosen_section_feeds_training_batches(monkeypatch):
    calls = []
    real = lab.trace_running_stats
    monkeypatch.setattr(lab, "trace_running_stats", lambda *a: calls.append(1) or real(*a))
    lab.traced.clear()
    bn_lab(section="stats")
    bn_lab(section="puzzle")
    bn_lab(section="eps")  # train mode: the running statistics are not used
    assert calls == []
    bn_lab(section="running")
    assert calls == [1]


def test_batch_size_reaches_every_small_size_with_one_step():
    at = bn_lab()
    n = at.select_slider(key="bnlab.n")
    assert [int(o.replace(",", "")) for o in n.options] == list(BATCH_SIZES)
    assert {1, 2, 3, 4, 5, 8} <= set(BATCH_SIZES[:8])
    n.set_value(3).run()
    assert at.query_params["n"] == "3"
    assert at.dataframe[0].value.shape[0] == 3


def test_a_link_batch_size_between_options_snaps_to_the_nearest():
    at = bn_lab(n=1000)
    assert at.select_slider(key="bnlab.n").value == 1024


# --- the framework switch ---


def test_switching_framework_converts_default_eps_and_momentum_and_says_so():
    at = bn_lab(section="running")
    at.radio(key="bnlab.conv").set_value("keras").run()
    assert at.select_slider(key="bnlab.momentum").value == pytest.approx(0.9)
    at.get("button_group")[0].set_value("eps").run()
    assert at.select_slider(key="bnlab.eps").value == 0.001


def test_switching_framework_keeps_an_eps_the_student_chose():
    at = bn_lab(section="eps", eps=0.1)
    at.radio(key="bnlab.conv").set_value("keras").run()
    assert at.select_slider(key="bnlab.eps").value == 0.1
    note = at.info[0].value
    assert "0.1" in note and "0.001" in note and "Keras" in note


def test_switching_back_and_forth_where_the_other_controls_are_not_drawn():
    # Under Keras the running section draws no "cumulative average" box, and the stats section no momentum:
    # Streamlit drops those keys, and the switch (a callback, before the page runs) must still find them.
    at = bn_lab(section="running")
    at.radio(key="bnlab.conv").set_value("keras").run()
    at.radio(key="bnlab.conv").set_value("pytorch").run()
    assert_clean(at)
    assert at.select_slider(key="bnlab.momentum").value == pytest.approx(0.1)
    at.radio(key="bnlab.conv").set_value("keras").run()
    at.get("button_group")[0].set_value("stats").run()
    at.radio(key="bnlab.conv").set_value("pytorch").run()
    assert_clean(at)
    at.get("button_group")[0].set_value("running").run()
    assert at.select_slider(key="bnlab.momentum").value == pytest.approx(0.1)
    assert "eps" not in at.query_params and "momentum" not in at.query_params  # PyTorch's defaults again


# --- batch statistics: histograms binned through the layer's map ---


@pytest.mark.parametrize("gamma", [1.0, -2.0])
def test_output_histogram_has_the_inputs_shape_and_both_axes_cover_the_data(gamma):
    at = bn_lab(gamma=gamma, beta=0.5)
    before_edges, before = histogram_of(at, "bnlab.chart_before")
    after_edges, after = histogram_of(at, "bnlab.chart_after")
    np.testing.assert_array_equal(after, before if gamma > 0 else before[::-1])
    x = page_batch()[:, 0]
    assert before_edges[0] <= x.min() and x.max() <= before_edges[-1]
    y = (x - x.mean()) / np.sqrt(x.var() + 1e-5) * gamma + 0.5
    assert after_edges[0] <= y.min() + 1e-4 and y.max() - 1e-4 <= after_edges[-1]
    for key, edges in (("bnlab.chart_before", before_edges), ("bnlab.chart_after", after_edges)):
        low, high = chart(at, key)["layout"]["xaxis"]["range"]
        assert low <= min(edges[0], -4) and max(edges[-1], 4) <= high  # the axis shows every bin
    assert before.max() < 0.5  # no pile-up of values beyond the axis in one tall bar


def test_two_values_come_out_as_minus_and_plus_one():
    at = bn_lab(section="running", n=2)
    edges, shares = histogram_of(at, "bnlab.chart_after")
    assert shares[0] == shares[-1] == 0.5  # x's two values sit at the ends of its bins, and so do -1 and +1
    x = page_batch(n=2)[:, 0].astype(np.float64)
    var = x.var()
    y = np.sqrt(var / (var + 1e-5))  # ±1 shrunk by ε, which matters at this tiny variance
    assert edges[0] == pytest.approx(-y, abs=1e-5) and edges[-1] == pytest.approx(y, abs=1e-5)


def test_a_refusal_in_the_batch_statistics_section_points_to_the_controls_of_its_ways_out():
    at = bn_lab(n=1)
    assert refusals(at) and EN["bn_lab.ways_elsewhere"] in text_of(at)
    assert EN["bn_lab.ways_elsewhere"] not in text_of(bn_lab(section="one", n=1))  # that section has them


def test_bn_off_has_no_running_statistics_caption():
    at = bn_lab(bn=0)
    assert_clean(at)
    assert EN["bn_lab.table_note_updated"] not in text_of(at)
    _, before = histogram_of(at, "bnlab.chart_before")
    _, after = histogram_of(at, "bnlab.chart_after")
    np.testing.assert_array_equal(after, before)


def test_formula_writes_small_eps_as_a_power_of_ten():
    assert r"+ 10^{-5}}}" in bn_lab().latex[-1].value


def test_russian_page_writes_decimal_commas():
    at = bn_lab("ru", section="running", momentum=0.123)
    text = text_of(at)
    assert "0,123" in text and "0,877" in text
    table = at.dataframe[0].value
    assert all("," in v or "." not in v for v in table.iloc[:, 1])


# --- train vs eval, running statistics ---


def test_train_mode_table_says_the_running_statistics_include_this_batch():
    at = bn_lab(section="running")
    assert EN["bn_lab.table_note_updated"] in text_of(at)
    assert [c.key for c in at.get("plotly_chart")][-2:] == ["bnlab.chart_running", "bnlab.chart_gap"]


def test_running_statistics_settle_at_the_population_with_pytorch():
    at = bn_lab(section="running", k=400, n=64)
    table = at.dataframe[0].value
    mean, var = population_stats(3, "normal", 2.0, 1.5)
    running_mean = [float(v) for v in table[EN["bn_lab.col_running_mean"]]]
    running_var = [float(v) for v in table[EN["bn_lab.col_running_var"]]]
    np.testing.assert_allclose(running_mean, mean, rtol=0.05)
    np.testing.assert_allclose(running_var, var, rtol=0.2)


@pytest.mark.parametrize(("conv", "momentum", "target"), [("pytorch", 0.1, 2.25), ("keras", 0.9, 2.25 / 2)])
def test_running_chart_draws_where_each_convention_settles_at_batch_size_two(conv, momentum, target):
    at = bn_lab(section="running", conv=conv, momentum=momentum, n=2, eps=1e-3 if conv == "keras" else 1e-5)
    assert_clean(at)
    figure = chart(at, "bnlab.chart_running")
    layout = figure["layout"]
    dotted = [trace for trace in figure["data"] if trace["line"]["dash"] == "dot"]
    assert sorted(plotly_array(trace["y"])[0] for trace in dotted) == pytest.approx(sorted([2.0, target]))
    assert [trace["name"] for trace in dotted] == [  # named in the legend, not written over the curves
        EN["bn_lab.settle_mean"].format(v="2"),
        EN["bn_lab.settle_var"].format(v=num(target, ".3g", "en")),
    ]
    assert not layout.get("annotations")
    assert "approach" not in layout["title"]["text"]
    legend = layout["legend"]  # at the figure's bottom edge, under the plot and its axis title, not over the title
    assert (legend["yref"], legend["y"], legend["yanchor"]) == ("container", 0.0, "bottom")
    assert num(target, ".3g", "en") in text_of(at)


def test_gap_chart_has_an_axis_title_and_readable_log_ticks():
    yaxis = chart(bn_lab(section="running"), "bnlab.chart_gap")["layout"]["yaxis"]
    assert yaxis["title"]["text"] == EN["bn_lab.gap"]
    assert yaxis["type"] == "log"
    ticks = plotly_array(yaxis["tickvals"])
    mantissas = {round(v / 10 ** np.floor(np.log10(v)), 6) for v in ticks}
    assert mantissas <= {1.0, 2.0, 5.0} and len(ticks) >= 2
    assert yaxis["ticktext"] == [f"{v:.3g}" for v in ticks]  # each written in full, not a lone digit


def test_eval_mode_of_a_fresh_layer_divides_by_sqrt_one_plus_eps():
    at = bn_lab(section="running", k=0, mode="eval", conv="keras", momentum=0.9, eps=0.001)
    assert EN["bn_lab.running_none"] in text_of(at)
    assert EN["bn_lab.table_note_eval"] in text_of(at)
    assert r"\sqrt{1 + 0.001}" in at.latex[-1].value


def test_pytorch_batch_of_one_in_the_running_section_does_not_ask_to_move_the_slider():
    at = bn_lab(section="running", n=1)
    text = text_of(at)
    assert EN["bn_lab.running_refused"] in text
    assert EN["bn_lab.running_none"] not in text
    assert EN["bn_lab.table_note_refused"] in text
    assert EN["bn_lab.table_note"] not in text and EN["bn_lab.table_note_eval"] not in text


def test_momentum_from_a_link_is_captioned_with_its_own_digits():
    text = text_of(bn_lab(section="running", momentum=0.123))
    assert "PyTorch momentum = 0.123" in text and "Keras momentum = 0.877" in text


def test_extreme_url_values_are_clamped_with_a_notice_and_stay_fast():
    at = bn_lab(section="running", n="1e9", c="-4", hw="99", k="100000", layout="nchw")
    assert_clean(at)
    notices = [w.value for w in at.warning if w.value.startswith("**Link adjusted:**")]
    assert len(notices) == 1 and "and 1 more" in notices[0]  # four changes: three named, then "and 1 more"
    assert at.select_slider(key="bnlab.n").value == 1024
    assert EN["bn_lab.k_capped"].split("{")[0] in text_of(at)


# --- batch size 1 ---


def test_pytorch_batch_of_one_shows_torchs_own_error_in_a_wrapping_box_and_the_ways_out():
    at = bn_lab(section="one", n=1)
    assert_clean(at)
    assert at.warning[0].value == EN["bn_lab.refused"]
    with pytest.raises(ValueError) as theirs:
        torch.nn.BatchNorm1d(3)(torch.zeros(1, 3))
    assert at.code[0].value == f"ValueError: {theirs.value}"
    assert at.code[0].proto.wrap_lines
    assert EN["bn_lab.ways_out"].strip()[:20] in text_of(at)


def test_keras_batch_of_one_silently_returns_beta():
    at = bn_lab(section="one", n=1, conv="keras", beta=0.5, eps=0.001, momentum=0.9)
    assert_clean(at)
    assert not refusals(at)  # no refusal
    edges, shares = histogram_of(at, "bnlab.chart_after")
    top = shares.argmax()
    assert shares.max() == 1.0 and edges[top] <= 0.5 <= edges[top + 1]
    assert (edges[top] + edges[top + 1]) / 2 == pytest.approx(0.5) and edges[top + 1] - edges[top] < 0.2  # a spike


def test_the_batch_size_1_section_opens_at_one_whatever_the_other_sections_batch_size():
    at = bn_lab(section="one", n=64)  # a link from another section keeps its N; this section has its own
    assert at.select_slider(key="bnlab.n1").value == 1
    assert at.warning[0].value == EN["bn_lab.refused"]
    at.select_slider(key="bnlab.n1").set_value(2).run()
    assert_clean(at)
    assert not refusals(at) and "(2, 3)" in text_of(at)
    assert at.session_state["bnlab.n"] == 64  # the batch size of the other sections is untouched


def test_image_batch_of_one_works_in_pytorch_and_shows_the_reduced_axes():
    at = bn_lab(section="one", n=1, layout="nchw", hw=4)
    assert_clean(at)
    assert not refusals(at)
    assert "over N, H, W." in text_of(at) and "**16**" in text_of(at)


def test_a_vector_batch_of_one_names_its_axis_in_words_not_as_a_python_tuple():
    at = bn_lab(section="one", n=1)
    assert_clean(at)
    assert "over N." in text_of(at) and "(0,)" not in text_of(at)


# --- the Keras puzzle ---


def test_keras_puzzle_names_the_backend_of_each_number():
    at = bn_lab(section="puzzle")
    assert_clean(at)
    puzzle = at.dataframe[0].value
    assert list(puzzle["y"]) == ["-0.22619529", "-0.2261953", "0.0", "0.0", "-0.2261953"]
    assert "TensorFlow" in puzzle.iloc[0, 0] and "torch" in puzzle.iloc[1, 0]
    # the torch backend's digits, from torch itself: (x - 0) * (rsqrt(1 + 0.001) * 1) + 0 in float32
    x = torch.tensor([-0.22630838])
    assert str((x - 0.0).mul(torch.tensor([1.0]).add(1e-3).rsqrt()).add(0.0).numpy()[0]) == "-0.2261953"


def keras_after(x, momentum, calls, training):
    """Keras 3's layer (torch backend, float32), written with torch ops: ``calls`` training calls on the
    one-value batch x, then one call in the given mode."""
    x = torch.tensor([x], dtype=torch.float32)
    moving_mean, moving_var, m, eps = torch.zeros(1), torch.ones(1), momentum, 1e-3  # Python floats, as Keras has them
    for _ in range(calls):  # the batch's mean is x, its variance 0
        moving_mean = moving_mean * m + x * (1 - m)
        moving_var = moving_var * m + torch.zeros(1) * (1 - m)
    mean, var = (x, torch.zeros(1)) if training else (moving_mean, moving_var)
    return str((x - mean).mul(var.add(eps).rsqrt()).add(0.0).numpy()[0])


@pytest.mark.parametrize(
    "x, momentum, calls, training",
    [(-0.22630838, 0.99, 0, True), (-0.22630838, 0.0, 1, False), (1.5, 0.5, 1, False), (3.0, 0.9, 10, False)],
)
def test_keras_puzzle_controls_give_kerass_numbers(x, momentum, calls, training):
    at = bn_lab(section="puzzle")
    at.number_input(key="bnlab.px").set_value(x)
    at.select_slider(key="bnlab.pm").set_value(momentum)
    at.slider(key="bnlab.pk").set_value(calls)
    at.toggle(key="bnlab.ptrain").set_value(training).run()
    assert_clean(at)
    assert at.metric[0].value == keras_after(x, momentum, calls, training)
    code = at.code[0].value
    assert code.endswith("layer(x, training=True)" if training else "layer(x)") and f"momentum={momentum:g}" in code


# --- epsilon ---


def keras_constant(value, n, eps=0.0, c=3):
    """What Keras 3 (torch backend, float32) computes for channel 0 of a constant batch (n, c) laid out row by
    row, as the page's batch is, with torch ops (the rounding depends on the layout: torch reduces a column of
    a row-major batch in another order than a contiguous one)."""
    x = torch.full((n, c), value, dtype=torch.float32)
    mean = x.mean(0)
    var = (x * x).mean(0) - mean * mean
    return mean[0].item(), var[0].item(), ((x - mean) * torch.rsqrt(var + eps))[0, 0].item()


# one setting for each thing Keras's float32 arithmetic gives (found over the slider grid, see tests/unit)
@pytest.mark.parametrize(
    ("mu", "n", "case"),
    [
        (0.1, 1024, "negative"),  # E[x²] − E[x]² < 0: NaN
        (-5.0, 1, "zero_over_zero"),
        (-3.4, 32, "over_zero"),  # ±inf
        (-2.6, 3, "rounding_zero"),  # 0
        (-3.6, 3, "rounding"),  # a tiny number
        (0.3, 1000, None),  # a link's 1000 snaps to 1024; whatever comes out is named
    ],
)
def test_eps_zero_constant_channel_shows_what_keras_returns_and_says_why(mu, n, case):
    at = bn_lab(section="eps", conv="keras", dist="constant", eps=0, n=n, mu=mu, momentum=0.9)
    assert_clean(at)
    n = at.select_slider(key="bnlab.n").value
    _, var, y = keras_constant(np.float32(mu), n)
    text = text_of(at)
    assert f"**{num(y, '.4g', 'en')}**" in text  # the number Keras gives, nan and inf included
    expected = {
        var < 0: "negative",
        var == 0 and np.isnan(y): "zero_over_zero",
        bool(np.isinf(y)): "over_zero",
        var > 0 and y == 0: "rounding_zero",
        var > 0 and y != 0: "rounding",
    }[True]
    assert case in (None, expected)
    assert EN[f"bn_lab.eps_case_{expected}"].format(y=num(y, ".4g", "en")) in text
    assert EN["bn_lab.nan"] not in text  # the case above says why; no second, vaguer notice
    if np.isnan(y):  # the batch statistics section, which does not explain, points here
        stats = bn_lab(conv="keras", dist="constant", eps=0, n=n, mu=mu, momentum=0.9)
        assert EN["bn_lab.nan"] in text_of(stats)


@pytest.mark.parametrize(("mu", "n", "eps"), [(-2.9, 3, 1e-8), (2.1, 1024, 1e-8), (2.1, 1024, 1e-5), (0.5, 8, 1e-5)])
def test_a_constant_channel_in_pytorch_shows_torchs_own_output_and_where_it_comes_from(mu, n, eps):
    # exact arithmetic says β = 0; PyTorch's float32 sums and fold give rounding (or, by luck, 0)
    at = bn_lab(section="eps", dist="constant", eps=eps, n=n, mu=mu)
    assert_clean(at)
    x = torch.full((n, 3), float(np.float32(mu)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the server computes (ui.server.one_torch_thread): two threads sum in another order
    try:
        with torch.no_grad():
            y, mean, _ = torch.native_batch_norm(x, None, None, None, None, True, 0.1, eps)
    finally:
        torch.set_num_threads(threads)
    y0, centered = y[0, 0].item(), (x[0, 0] - mean[0]).item()
    text = text_of(at)
    assert f"**{num(y0, '.4g', 'en')}**" in text  # the number PyTorch gives
    expected = None if y0 == 0 else "mean_off" if centered != 0 else "fold"
    for case in ("mean_off", "fold"):
        assert (EN[f"bn_lab.eps_case_{case}"].split("{")[0] in text) == (case == expected)


def test_a_keras_variance_below_zero_is_named_and_not_blamed_on_a_zero_eps():
    # float32 E[x²] − E[x]² for three values of -3.9 is about -9.5e-7: below 0, and ε = 1e-8 does not cover it
    _, var, _ = keras_constant(np.float32(-3.9), 3)
    assert var + 1e-8 < 0 < var + 1e-6
    stats = bn_lab(conv="keras", dist="constant", eps=1e-8, n=3, mu=-3.9)
    assert EN["bn_lab.nan"] in text_of(stats) and "ε = 0" not in EN["bn_lab.nan"]
    at = bn_lab(section="eps", conv="keras", dist="constant", eps=1e-6, n=3, mu=-3.9)
    text = text_of(at)
    assert EN["bn_lab.eps_now_negative"].split("{")[0] in text and "%" not in text  # no share of a denominator


def test_keras_batch_of_one_at_eps_zero_does_not_promise_beta():
    at = bn_lab(section="one", conv="keras", n=1, eps=0)
    text = text_of(at)
    assert EN["bn_lab.nan"] in text and EN["bn_lab.one_keras"].split("{")[0] not in text


@pytest.mark.parametrize(("conv", "momentum"), [("pytorch", 0), ("keras", 1)])
def test_a_momentum_that_gives_a_new_batch_no_weight_draws_no_settling_line(conv, momentum):
    at = bn_lab(section="running", conv=conv, momentum=momentum, k=50)
    assert_clean(at)
    text = text_of(at)
    assert EN["bn_lab.running_frozen"] in text and EN["bn_lab.settle_note_pytorch"][:30] not in text
    figure = chart(at, "bnlab.chart_running")
    assert len(figure["data"]) == 2  # the two running statistics, no target line
    means = plotly_array(figure["data"][0]["y"])
    assert (means == 0).all()  # the running mean never left its start


def test_eps_zero_pytorch_training_is_refused_with_torchs_message_and_its_own_way_out():
    at = bn_lab(section="eps", dist="constant", eps=0)
    with pytest.raises(ValueError) as theirs:
        torch.nn.BatchNorm1d(3, eps=0.0)(torch.ones(4, 3))
    assert at.code[0].value == f"ValueError: {theirs.value}"
    text = text_of(at)
    assert EN["bn_lab.eps_way_out"] in text
    assert EN["bn_lab.ways_out"].strip()[:20] not in text  # the batch-size-1 advice does not fit


def test_eps_zero_pytorch_eval_mode_is_accepted_as_the_way_out_says():
    at = bn_lab(section="eps", dist="constant", eps=0, mode="eval")
    assert_clean(at)
    assert not refusals(at)


# --- words: one term per concept, one register ---


def test_catalogs_use_one_term_per_concept():
    """The terms of docs/glossary.md, in every lesson's strings."""
    ru, zh = catalog("ru"), catalog("zh")
    bn_ru = {k: v for k, v in ru.items() if k.startswith("bn_lab.")}
    bn_zh = {k: v for k, v in zh.items() if k.startswith("bn_lab.")}
    assert "размер батча" in ru["bn_lab.n"].lower() and ru["bn_lab.seed"] == "Зерно генератора"
    assert "ε защищает от деления на ноль" in ru["bn_lab.eps_text"]
    assert "批量大小" in zh["bn_lab.n"] and zh["bn_lab.seed"] == "随机种子"
    assert zh["bn_lab.k"] == "此前已输入的训练批量数"
    assert not [k for k, v in bn_zh.items() if "您" in v]
    assert not [k for k, v in bn_ru.items() if "Начальное значение" in v]
    # zh: 批量 (batch), 批量大小, 小批量 (mini-batch), 批归一化; 评估模式 for eval mode; 神经元 for a unit
    assert not [k for k, v in zh.items() if re.search(r"批次|批大小|批(?![量归重])", v)]
    assert not [k for k, v in zh.items() if re.search(r"(eval|train) 模式|单元(?!格)", v)]
    assert {k for k, v in zh.items() if "推理模式" in v} == {  # Keras's "inference mode"
        "bn_lab.puzzle_answer",
        "bn_lab.puzzle_training_help",
        "bn_lab.puzzle_used_moving",
    }
    # ru: the learning rate is never a bare «скорость» (the train lesson's speed is one); режим оценки, not «режим eval»
    assert ru["train.field_lr"] == "скорость обучения" and ru["train.speed"] == "Шагов в секунду"
    assert not [k for k, v in ru.items() if re.search(r"(?i)режим\w* (eval|train)|шаг обучения для", v)]
    # ru: «зерно генератора», «потери» (a gloss in parentheses may name the English term); zh: 轮 for an epoch
    assert not [k for k, v in ru.items() if re.search(r"(?i)(?<!\{)seed(?!\)|s?\})|лосс", v)]
    assert not [k for k, v in zh.items() if re.search(r"(?<![（{])epoch", v)]
    for lang in LANGUAGES:
        assert catalog(lang)["bn_lab.gamma"] != "γ (gamma)" or lang == "en"


def test_keras_puzzle_code_writes_x_as_the_float32_the_layer_gets():
    at = bn_lab(section="puzzle")
    assert "np.array([[-0.22630838]], 'float32')" in at.code[0].value  # not the float64 digits of that float32


def test_the_sections_the_link_accepts_are_the_sections_the_page_has():
    from lessons.bn_lab import state

    assert tuple(sections.SECTIONS) == state.SECTIONS


@pytest.mark.parametrize("section", list(sections.SECTIONS))
def test_each_section_offers_the_code_for_what_it_shows(section):
    at = bn_lab(section=section, conv="keras", momentum=0.9, eps=0.001)
    assert_clean(at)
    scripts = [c.value for c in at.code if c.language == "python" and c.value.startswith("# BN Lab")]
    assert len(scripts) == 1 and EN[f"bn_lab.section_{section}"] in scripts[0].splitlines()[0]
    assert ("keras.layers.BatchNormalization" in scripts[0]) and ("torch.nn.BatchNorm" not in scripts[0])


def test_bad_values_for_the_new_settings_are_named_and_replaced():
    at = bn_lab(section="puzzle", px="nan", pk="999", pm="0.3")
    assert_clean(at)
    assert at.number_input(key="bnlab.px").value == pytest.approx(-0.22630838)  # NaN is no x: the default
    assert at.slider(key="bnlab.pk").value == 10 and at.select_slider(key="bnlab.pm").value == 0.5  # clamped, snapped
    assert len(at.warning) == 1 and "nan" in at.warning[0].value and "999" in at.warning[0].value
    at = bn_lab(section="one", n1="1000")
    assert_clean(at)
    assert at.select_slider(key="bnlab.n1").value == 64


@pytest.mark.parametrize("conv", ["pytorch", "keras"])
@pytest.mark.parametrize("dist, gamma, beta", [("normal", 1.0, 0.0), ("lognormal", 2.5, -1.0), ("bimodal", -0.5, 2.0)])
def test_the_stats_sections_first_line_every_channel_gets_mean_beta_and_spread_about_gamma(conv, dist, gamma, beta):
    # lead.bn_lab_stats: "every channel comes out with mean β and spread about |γ|; the histogram keeps its shape"
    assert "mean β and spread about |γ|" in EN["lead.bn_lab_stats"]
    from lessons.bn_lab.state import PARAMS

    defaults = {p.key.removeprefix("bnlab."): p.default for p in PARAMS if p.name != "section"}
    settings = lab.Lab(**{**defaults, "conv": conv, "dist": dist, "gamma": gamma, "beta": beta, "n": 256})
    x, layer = settings.batch(), settings.layer()
    y, refused = lab.run_layer(layer, x, training=True)  # the section's own calls
    assert refused is None
    np.testing.assert_allclose(y.mean(axis=0), beta, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), abs(gamma), rtol=1e-3)
