"""inside: every section in every language, and interactions by widget key."""

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from bn_core import train as tr
from lessons.inside import stats_live
from tests.app.helpers import assert_clean, open_page, plotly_array, poll, text_of
from tests.app.test_train import player_data
from ui.i18n import LANGUAGES, catalog
from ui.runs import runner
from ui.state import literal

PAGE = "lessons/inside/inside.py"
SECTIONS = ("step", "axes", "stats", "place", "devices", "noise")
EN = catalog("en")


def inside(lang="en", **params):
    return open_page(PAGE, lang, **{k: str(v) for k, v in params.items()})


def edit(at, **cells):
    """Type into the batch editor: cells given as r<row>c<channel>="text"."""
    rows = {}
    for name, text in cells.items():
        row, ch = map(int, re.fullmatch(r"r(\d+)c(\d+)", name).groups())
        rows.setdefault(row, {})[f"c{ch}"] = text
    at.session_state["inside.cells"] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def latex_numbers(line: str) -> list[float]:
    line = re.sub(r"\\cdot 10\^\{(-?\d+)\}", r"e\1", line)  # 1.5\cdot 10^{-3} -> 1.5e-3
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", line)]


def batch_in_editor(at) -> np.ndarray:
    return at.data_editor(key="inside.cells").value.to_numpy(dtype=float)


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_renders_in_every_language(section, lang):
    at = inside(lang, section=section)
    assert_clean(at)
    assert at.segmented_control(key="inside.section").value == section


def test_section_picker_changes_the_link_and_only_that_section_runs():
    at = inside()
    assert at.data_editor(key="inside.cells")  # the step section's editor
    at.segmented_control(key="inside.section").set_value("axes").run()
    assert_clean(at)
    assert at.query_params["section"] in ("axes", ["axes"])
    assert len(at.data_editor) == 0 and not at.latex  # the step section did not run


def test_step_mean_is_the_mean_of_the_batch_on_show():
    at = inside(n=5, c=3, seed=7, ch=2)
    assert_clean(at)
    x = batch_in_editor(at)
    assert x.shape == (5, 3)
    *_, shown = latex_numbers(at.latex[0].value)
    assert shown == pytest.approx(x[:, 2].mean(), rel=1e-3, abs=1e-3)


def test_next_and_previous_walk_the_steps_and_the_link_follows():
    at = inside(n=4, c=2, seed=3)
    for k in range(1, 6):
        at.button(key="inside.next").click().run()
        assert at.query_params["step"] in (str(k), [str(k)])
    assert at.button(key="inside.next").disabled
    x = batch_in_editor(at)
    assert "dx_" in at.latex[1].value
    at.button(key="inside.prev").click().run()
    at.button(key="inside.prev").click().run()
    at.button(key="inside.prev").click().run()
    at.button(key="inside.prev").click().run()  # step 2: the variance
    *_, var = latex_numbers(at.latex[0].value)
    assert var == pytest.approx(x[:, 0].var(), rel=1e-3)


def test_an_edited_cell_is_used():
    at = edit(inside(n=3, c=1, seed=0), r0c0="10", r1c0="1,5", r2c0="-2")
    assert_clean(at)
    *_, mean = latex_numbers(at.latex[0].value)
    assert mean == pytest.approx((10 + 1.5 - 2) / 3, rel=1e-3)


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("raw", ["abc", "", "nan", "inf", "-inf"])
def test_bad_cells_get_a_message_not_a_traceback(raw, lang):
    at = edit(inside(lang, n=3, c=2), r1c1=raw)
    assert_clean(at)
    text = catalog(lang)
    assert at.warning[0].value.startswith(text["inside.bad_cells"])
    assert text["inside.bad_cell"].format(row=1, ch=1, raw=raw or "∅") in at.warning[0].value
    assert not at.latex


def test_huge_values_get_a_message():
    at = edit(inside(n=3, c=1), r0c0="1e300")
    assert_clean(at)
    assert at.warning[0].value == EN["inside.too_large"]


def test_random_draws_a_new_batch_and_keeps_it_in_the_link():
    at = inside(n=4, c=2, seed=11)
    before = batch_in_editor(at)
    at.button(key="inside.random").click().run()
    assert_clean(at)
    assert at.query_params["seed"] in ("12", ["12"])
    assert not np.array_equal(batch_in_editor(at), before)


def test_edits_survive_a_visit_to_another_section():
    at = edit(inside(n=3, c=1, seed=0), r0c0="10", r1c0="20", r2c0="30")
    at.segmented_control(key="inside.section").set_value("axes").run()
    at.segmented_control(key="inside.section").set_value("step").run()
    assert_clean(at)
    *_, mean = latex_numbers(at.latex[0].value)
    assert mean == pytest.approx(20.0)


def test_random_discards_edits():
    at = edit(inside(n=2, c=1), r0c0="abc")
    assert at.warning
    at.button(key="inside.random").click().run()
    assert_clean(at)
    assert not at.warning


@pytest.mark.parametrize("eps", ["0", "1e-05", "1"])
def test_closed_form_agrees_with_torch_autograd_on_the_page(eps):
    at = inside(n=6, c=3, seed=2, eps=eps, gamma=1.7, beta=-0.4)
    assert_clean(at)
    metric = at.metric[0]
    assert metric.label == EN["inside.torch_diff"]
    assert float(metric.value) < 1e-12


def test_sum_of_dx_is_zero_and_orthogonality_depends_on_eps():
    at = inside(n=6, c=2, seed=4, eps=0)
    table = at.dataframe[-1].value
    assert np.abs(table["Σ dx"].astype(float)).max() < 1e-12
    assert np.abs(table["⟨dx, x̂⟩"].astype(float)).max() < 1e-12
    assert EN["inside.orthogonal_eps0"][:30] in text_of(at)
    at = inside(n=6, c=2, seed=4, eps=1)
    table = at.dataframe[-1].value
    dot, predicted = table["⟨dx, x̂⟩"].astype(float), table[EN["inside.col_predicted"]].astype(float)
    assert np.abs(dot).min() > 1e-4  # visibly not zero
    np.testing.assert_allclose(dot, predicted, rtol=1e-3)


def test_stretching_gradient_vanishes_at_eps_zero():
    at = inside(n=5, c=1, seed=1, eps=0, dy="x_hat", step=5)
    assert_clean(at)
    assert EN["inside.why_not_rescale"].format(ch=0, shift="0.0%", scale="100.0%") in text_of(at)
    *_, dx = latex_numbers(at.latex[1].value)
    assert abs(dx) < 1e-9


def test_batch_of_one_torch_refuses_and_eps_zero_is_explained():
    at = inside(n=1, c=2)
    assert_clean(at)
    assert "Expected more than 1 value per channel" in at.info[0].value
    at = inside(n=1, c=2, eps=0)
    assert_clean(at)
    assert at.warning[0].value == EN["inside.zero_var"]


def test_russian_numbers_use_a_decimal_comma_in_formulas():
    at = inside("ru", n=3, c=1, seed=0)
    assert "{,}" in at.latex[0].value


def chart_sets(at, kind):
    """The names of the shared sets drawn in one chart (one name per set, several faces each)."""
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if spec["layout"]["title"]["text"].startswith(EN[f"inside.norm_{kind}"].split(",")[0]):
            return {t["name"] for t in spec["data"]}
    raise AssertionError(kind)


@pytest.mark.parametrize("layout", ["nchw", "nc"])
def test_axes_draws_one_colour_per_shared_set_and_counts_them(layout):
    n, c, hw, g = 3, 6, 2, 3
    at = inside(section="axes", layout=layout, an=n, ac=c, ahw=hw, g=g)
    assert_clean(at)
    spatial = hw if layout == "nchw" else 1
    expected = {"batch": (c, n * spatial), "layer": (n, c * spatial), "instance": (n * c, spatial)}
    expected["group"] = (n * g, c // g * spatial)
    captions = [cap.value for cap in at.caption]
    for kind, (sets, values) in expected.items():
        assert len(chart_sets(at, kind)) == sets
        note = "inside.sets_one" if values == 1 else "inside.sets"
        assert EN[note].format(sets=sets, values=values) in captions


def test_groups_snap_to_a_divisor_of_the_channels():
    at = inside(section="axes", ac=4, g=3)
    assert_clean(at)
    assert at.select_slider(key="inside.groups").value == 2


def test_batch_of_one_table_marks_what_fails():
    at = inside(section="axes")
    table = at.dataframe[-1].value
    vector = table.iloc[1]
    assert vector[EN["inside.norm_batch"]] == EN["inside.one_fails"]
    assert vector[EN["inside.norm_instance"]] == EN["inside.one_fails"]
    assert vector[EN["inside.norm_layer"]] == "64"
    image = table.iloc[0]
    assert image[EN["inside.norm_batch"]] == "1,024" and image[EN["inside.norm_instance"]] == "1,024"


def percent(text: str) -> float:
    return float(text.replace("%", "").replace(",", ".").strip()) / 100


@pytest.mark.parametrize("zmu", [-1.0, 0.0, 2.5])
def test_bn_before_relu_passes_half_zeros_and_relu_before_bn_none(zmu):
    at = inside(section="place", zmu=zmu, zsd=1.0)
    assert_clean(at)
    table = at.dataframe[0].value.set_index(EN["inside.col_order"])
    zeros = table[EN["inside.col_zeros"]].map(percent)
    assert zeros[EN["inside.order_bn_act"]] == pytest.approx(0.5, abs=0.04)
    assert zeros[EN["inside.order_act_bn"]] == 0.0
    assert table.loc[EN["inside.order_act_bn"], EN["inside.col_mean"]] == "0.000"
    if zmu == 0.0:  # ReLU cuts half: one-sided
        assert float(table.loc[EN["inside.order_act_bn"], EN["inside.col_skew"]]) > 0.5


def test_far_below_zero_relu_passes_zeros_and_bn_cannot_revive_an_empty_unit():
    at = inside(section="place", zmu=-3.0, zsd=1.0)
    table = at.dataframe[0].value.set_index(EN["inside.col_order"])
    zeros = table[EN["inside.col_zeros"]].map(percent)
    assert zeros[EN["inside.order_plain"]] > 0.99
    assert zeros[EN["inside.order_bn_act"]] == pytest.approx(0.5, abs=0.04)
    assert zeros[EN["inside.order_act_bn"]] > 0.0  # units with no positive value stay 0


def test_saturation_with_bn_is_a_unit_normal_tail_whatever_the_drift():
    at = inside(section="place", zmu=3.0, zsd=5.0, squash="tanh")
    assert_clean(at)
    without, with_bn = (percent(m.value) for m in at.metric)
    assert without > 0.5
    assert with_bn == pytest.approx(0.069, abs=0.015)  # P(|N(0, 1)| > 1.82)
    at = inside(section="place", zmu=0.0, zsd=0.1, squash="sigmoid")
    without, with_bn = (percent(m.value) for m in at.metric)
    assert without == 0.0 and with_bn < 0.005


def test_orders_are_drawn_and_the_bias_changes_nothing():
    at = inside(section="place")
    assert len(at.get("graphviz_chart")) == 3
    change = re.search(r"at most (\S+)\. ", text_of(at)).group(1)
    assert float(change) < 1e-12


def test_devices_synchronized_statistics_are_the_whole_batch_as_torch_computes_it():
    import torch

    from bn_core.sync import device_batches

    at = inside(section="devices", k=3, b=5, shift=1.5, dseed=9)
    assert_clean(at)
    table = at.table[0].value.set_index(EN["inside.col_stats"])
    whole = torch.from_numpy(np.concatenate(device_batches(3, 5, 1, 1.5, seed=9)))
    var, mean = torch.var_mean(whole, dim=0, correction=0)
    synced = table.loc[EN["inside.row_sync"]]
    assert float(synced[EN["inside.col_mean"]]) == pytest.approx(mean.item(), abs=1e-4)
    assert float(synced[EN["inside.col_var"]]) == pytest.approx(var.item(), abs=1e-4)
    assert synced[EN["inside.col_count"]] == 15
    naive = table.loc[EN["inside.row_naive"]]
    assert float(naive[EN["inside.col_var"]]) < var.item() - 0.5  # shards 1.5 apart: the naive variance misses


@pytest.mark.parametrize("k, b, seed", [(4, 4, 0), (3, 5, 9), (8, 32, 3), (2, 1, 1)])
def test_devices_note_says_exactly_or_names_a_rounding_sized_difference(k, b, seed):
    at = inside(section="devices", k=k, b=b, shift=1.5, dseed=seed)
    assert_clean(at)
    note = next(c.value for c in at.caption if EN["inside.devices_note"].split("{same}")[1][:30] in c.value)
    table = at.table[0].value.set_index(EN["inside.col_stats"])
    assert (table.loc[EN["inside.row_sync"]] == table.loc[EN["inside.row_whole"]]).all()
    if EN["inside.devices_same_exact"] in note:
        return
    diff = float(re.search(r"differ by ([\d.e+-]+)\)", note).group(1))
    assert 0 < diff < 1e-12, note  # never "a difference of 0": that case says "exactly"


def test_one_sample_per_device_is_explained():
    at = inside(section="devices", k=5, b=1)
    assert_clean(at)
    assert at.info[0].value == EN["inside.one_per_device"].format(k=5)
    table = at.table[0].value
    assert set(table[EN["inside.col_var"]][:5]) == {"0.0000"}


@pytest.mark.parametrize("b", [1, 4, 64])
def test_spread_of_one_device_follows_one_over_root_b(b):
    at = inside(section="devices", k=2, b=b)
    match = re.search(
        r"mean is off from the true 0 by ([\d.]+) and its variance from the true 1 by ([\d.]+)", text_of(at)
    )
    assert float(match.group(1)) == pytest.approx(1 / np.sqrt(b), rel=0.06)
    # the variance's error includes its bias (it divides by b): a single sample's variance is 0, off by 1
    assert float(match.group(2)) == pytest.approx(np.sqrt(2 * b - 1) / b, rel=0.06)


def test_same_sample_noise_shrinks_when_the_batch_grows():
    at = inside(section="noise", x0=1.0)
    assert_clean(at)

    def spread():
        return float(re.search(r"standard deviation of ([\d.]+)\.", text_of(at)).group(1))

    small = spread()
    at.slider(key="inside.noise_b").set_value(128).run()
    assert at.query_params["nb"] in ("128", ["128"])
    large = spread()
    assert large < small / 3
    assert large == pytest.approx(np.sqrt(1.5 / 128), rel=0.1)


def test_dropout_before_bn_squeezes_the_outputs_at_inference():
    at = inside(section="noise", dmu=1.0)
    assert_clean(at)
    table = at.dataframe[0].value
    theory = table[EN["inside.drop_theory"]].astype(float)
    spread = table[EN["inside.drop_out_std"]].astype(float)
    np.testing.assert_allclose(theory, (1 + 1) / (1 - np.array([0.0, 0.1, 0.2, 0.3, 0.5])) - 1, atol=1e-3)
    np.testing.assert_allclose(spread, np.sqrt(1 / theory), rtol=0.05)
    assert spread.iloc[0] == pytest.approx(1.0, abs=0.03) and spread.iloc[-1] < 0.65


def test_running_statistics_in_training_let_the_parameters_run_away():
    at = inside(section="stats", steps=300)
    assert_clean(at)
    match = re.search(r"w = ([\d.]+) and b = ([\d.]+), and they grow", text_of(at))
    assert float(match.group(1)) > 5 and float(match.group(2)) > 5
    assert "with batch statistics w = 0.5" in text_of(at) and "b = 0." in text_of(at)
    at.slider(key="inside.steps").set_value(600).run()
    later = re.search(r"w = ([\d.]+) and b = ([\d.]+), and they grow", text_of(at))
    assert float(later.group(2)) > float(match.group(2)) + 3  # still drifting


def pair_ids(at):
    return list(at.session_state[stats_live.ACTIVE]) if stats_live.ACTIVE in at.session_state else []


def pair_done(at):
    return stats_live.DONE in at.session_state


@pytest.mark.slow
def test_the_pair_trains_both_from_one_press_and_shows_both_curves_and_the_gap():
    at = inside(section="stats", pspeed="500", plr=0.1, pb=16, pseed=3)
    assert_clean(at)
    assert EN["inside.pair_empty"][:20] in text_of(at)
    at.button(key="inside.pair_start").click().run()
    configs = [runner().view(r).config for r in pair_ids(at)]
    expected = replace(tr.STATS_PAIR, lr=0.1, batch_size=16, seed=3)
    assert configs == [expected, replace(expected, bn_stats="running")]
    assert at.select_slider(key="inside.pair_lr").disabled  # no change of settings under a running pair
    poll(at, pair_done)
    assert_clean(at)
    assert not pair_ids(at)
    views = at.session_state[stats_live.DONE]["views"]
    metrics = {m.label: percent(m.value) for m in at.metric}
    for v in views:
        label = EN["inside.pair_accuracy"].format(name=EN[f"inside.mode_{v.config.bn_stats}"])
        assert metrics[label] == pytest.approx(v.history.test_accuracy, abs=5e-4)
    played = player_data(at)  # the pair's records, played back in the browser
    assert [run["name"] for run in played["runs"]] == [EN["inside.mode_batch"], EN["inside.mode_running"]]
    for run, view in zip(played["runs"], views, strict=True):
        assert run["steps"] == [m.step for m in view.history.measures]
        assert run["acc"][-1] == pytest.approx(view.history.measures[-1].test_accuracy, abs=1e-4)
    assert played["speed"] == 500.0
    # the gap: eval mode of the gap measure is the batch-statistics run's own test accuracy
    shown = re.search(r"This run: ([\d.]+)% with batches of 2, ([\d.]+)% with 64, ([\d.]+)% in eval mode", text_of(at))
    assert percent(shown.group(3)) == pytest.approx(views[0].history.test_accuracy, abs=5e-4)
    assert float(shown.group(1)) < float(shown.group(3))
    gap = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert list(plotly_array(gap["data"][0]["x"])) == list(stats_live.GAP_SIZES)
    assert list(plotly_array(gap["data"][2]["x"])) == [16]  # this run's batch size, marked
    at.button(key="inside.pair_reset").click().run()
    assert_clean(at)
    assert not pair_done(at) and EN["inside.pair_empty"][:20] in text_of(at)


@pytest.mark.slow
def test_stop_releases_the_pair_without_a_traceback():
    at = inside(section="stats", pb=2, plr=0.01, pseed=12345)  # about 2 700 steps a run: still computing
    at.button(key="inside.pair_start").click().run()
    ids = pair_ids(at)
    poll(at, lambda a: all(runner().view(r).state == "running" for r in ids))
    at.button(key="inside.pair_stop").click().run()
    assert_clean(at)
    assert not pair_ids(at) and not pair_done(at)
    assert EN["inside.pair_empty"][:20] in text_of(at)
    shared = runner()  # (a view would count as a heartbeat: look at the runner's own table)
    poll(at, lambda a: not any(r in shared._runs for r in ids), timeout=30)  # nobody else wanted it: stopped


@pytest.mark.slow
def test_a_diverging_run_is_named_and_the_other_still_learns():
    at = inside(section="stats", pspeed="500", plr=0.3)
    at.button(key="inside.pair_start").click().run()
    poll(at, pair_done)
    assert_clean(at)
    diverged = EN["inside.pair_diverged"].split("{")[1].split("}")[1][:20]  # after {name}
    assert any(diverged in w.value and EN["inside.mode_running"] in w.value for w in at.warning)
    label = EN["inside.pair_accuracy"].format(name=EN["inside.mode_batch"])
    assert [m.label for m in at.metric if m.label.startswith(label[:10])] == [label]


def test_a_pair_the_runner_forgot_gets_a_notice():
    at = inside(section="stats")
    at.session_state[stats_live.ACTIVE] = ["gone-123", "gone-456"]  # as after the page stopped polling
    at.run()
    assert_clean(at)
    assert EN["train.lost"] in text_of(at)
    assert not pair_ids(at) and at.button(key="inside.pair_start")


def test_pair_settings_come_from_the_link_and_a_batch_of_one_is_replaced():
    at = inside(section="stats", plr=0.01, pb=64, pspeed="5", pseed=9)
    assert_clean(at)
    assert at.select_slider(key="inside.pair_lr").value == 0.01
    assert at.select_slider(key="inside.pair_b").value == 64
    assert at.segmented_control(key="inside.pair_speed").value == "5"
    assert at.number_input(key="inside.pair_seed").value == 9
    at = inside(section="stats", pb=1)
    assert_clean(at)
    assert at.select_slider(key="inside.pair_b").value == 2
    assert EN["url.change"].format(label=EN["inside.n"], used="2", raw=literal("1")) in text_of(at)


def test_a_pair_past_this_pages_run_limit_is_refused_with_a_message():
    shared = runner()
    before = shared.max_per_owner
    shared.max_per_owner = 1  # the pair is two runs
    try:
        at = inside("en", section="stats")
        at.button(key="inside.pair_start").click().run()
        assert_clean(at)
        assert not pair_ids(at)
        assert EN["train.limit_session"].format(n=1) in [w.value for w in at.warning]
        assert shared.counts()["queued"] + shared.counts()["running"] == 0
    finally:
        shared.max_per_owner = before


def test_the_dx_step_names_the_two_numbers_it_takes_from_the_step_before():
    at = inside(n=4, c=2, seed=3, step=4)  # step 5: dL/dbeta and dL/dgamma
    assert_clean(at)
    dbeta, dgamma = (latex_numbers(formula)[-1] for formula in (at.latex[0].value, at.latex[1].value))
    at = inside(n=4, c=2, seed=3, step=5)  # step 6: dx, which uses both
    assert_clean(at)
    formula = at.latex[1].value
    named = re.findall(r"\\underbrace\{\(?(-?[\d.]+)\)?\}_\{\\partial L/\\partial \\(beta|gamma)\}", formula)
    assert [name for _, name in named] == ["beta", "gamma"]
    assert float(named[0][0]) == pytest.approx(dbeta, abs=1e-3)
    assert float(named[1][0]) == pytest.approx(dgamma, abs=1e-3)
    assert "∂L/∂β" in EN["inside.step_dparams"] and "∂L/∂γ" in EN["inside.step_dparams"]  # as in the formula
