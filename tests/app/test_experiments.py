"""experiments: every section in every language from the shipped results, the charts draw the
files' numbers and the paper's, deep links, and "run it yourself" through the runner."""

import json
import re

import numpy as np
import pytest

from bn_core import experiments as ex
from lessons.experiments import common
from serve import jobs
from tests.app.helpers import assert_clean, open_page, plotly_array, poll, text_of
from ui.i18n import LANGUAGES, catalog
from ui.runs import runner

PAGE = "lessons/experiments/experiments.py"
SECTIONS = {"sweep": 2, "renorm": 3, "lr": 1, "smoothness": 2}  # Plotly charts per section
EN = catalog("en")


def experiments(lang="en", **params):
    return open_page(PAGE, lang, **{k: str(v) for k, v in params.items()})


def chart(at, key):
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def raw(name):
    """A shipped file as plain JSON, read here without the engine."""
    return json.loads((jobs.SHIPPED / f"{name}.json").read_text(encoding="utf-8"))["result"]


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_renders_its_precomputed_result_in_every_language(section, lang):
    at = experiments(lang, section=section)
    assert_clean(at)
    assert at.segmented_control(key="exp.section").value == section
    assert len(at.get("plotly_chart")) == SECTIONS[section]
    assert catalog(lang)["experiments.from_shipped"][:20] in text_of(at)
    assert at.button(key=f"exp.run_{section}").disabled  # nothing to run: the result is there


def test_the_sweep_chart_draws_the_shipped_numbers_and_the_paper_its_own():
    at = experiments()
    spec = chart(at, "exp.chart_sweep")
    lines = {trace["name"]: plotly_array(trace["y"]) for trace in spec["data"]}
    stored = raw("sweep")
    for norm in ("none", "batch", "layer", "group", "renorm", "weight"):
        np.testing.assert_allclose(lines[EN[f"train.norm_{norm}"]], np.mean(stored["val_error"][norm], axis=1))
    np.testing.assert_allclose(lines[EN["experiments.bn_train_mode"]], np.mean(stored["bn_train_mode_error"], axis=1))
    paper = {trace["name"]: plotly_array(trace["y"]) for trace in chart(at, "exp.chart_paper")["data"]}
    # Wu and He (2018), Group Normalization, ResNet-50 on ImageNet, per-GPU batch 2, 4, 8, 16, 32
    np.testing.assert_allclose(paper[EN["experiments.paper_bn"]], [0.347, 0.273, 0.248, 0.237, 0.236])
    np.testing.assert_allclose(paper[EN["experiments.paper_gn"]], [0.241, 0.242, 0.240, 0.242, 0.241])
    text = text_of(at)
    assert f"{np.mean(stored['val_error']['batch'][0]) * 100:.1f}% at batch size 2" in text
    assert "ImageNet" in EN["experiments.paper_caption"] and EN["experiments.paper_caption"][:40] in text


def test_the_sweep_text_writes_russian_numbers():
    at = experiments("ru")
    bn_small = np.mean(raw("sweep")["val_error"]["batch"][0]) * 100
    assert f"{bn_small:.1f}".replace(".", ",") + "\u00a0% при батче 2" in text_of(at)


@pytest.mark.parametrize("view", ["grad_change", "loss_range", "beta", "unit_mean"])
def test_why_bn_helps_draws_the_chosen_measure_large_and_each_seeds_value(view):
    stored = raw("smoothness")
    at = experiments(section="smoothness", smview=view)
    assert_clean(at)
    assert at.segmented_control(key="exp.smooth_view").value == view
    steps = chart(at, "exp.chart_steps")
    assert steps["layout"]["height"] >= 440  # the section's one large chart
    names = [EN[f"experiments.variant_{v}"] for v in ("none", "batch", "noisy")]
    if view == "loss_range":  # a band per network: its lower edge, then its upper edge
        edges = [plotly_array(trace["y"]) for trace in steps["data"]]
        for i, v in enumerate(("none", "batch", "noisy")):
            np.testing.assert_allclose(edges[2 * i], stored["loss_low"][v])
            np.testing.assert_allclose(edges[2 * i + 1], stored["loss_high"][v])
    else:
        lines = {trace["name"]: plotly_array(trace["y"]) for trace in steps["data"]}
        for name, v in zip(names, ("none", "batch", "noisy"), strict=True):
            np.testing.assert_allclose(lines[name], stored[view][v])
    # every seed's dot, at the seed's median of the measure (or its accuracy at the end, for the unit's mean)
    dots = [trace for trace in chart(at, "exp.chart_seeds")["data"] if trace.get("showlegend", True)]
    per_seed = stored["accuracy"] if view == "unit_mean" else stored["medians"][view]
    for trace, v in zip(dots, ("none", "batch", "noisy"), strict=True):
        np.testing.assert_allclose(plotly_array(trace["x"]), per_seed[v])
        assert len(per_seed[v]) == 5 and set(trace["y"]) == {EN[f"experiments.variant_{v}"]}


def test_renorm_deep_link_picks_a_shipped_setting_and_its_numbers():
    stored, config = raw("renorm"), ex.RenormConfig()
    index = config.settings.index((1.5, 0.5))
    at = experiments(section="renorm", rmax="1.5", dmax="0.5")
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    shown = metrics[EN["experiments.renorm_error"].format(r="1.5", d="0.5")]
    assert shown == f"{np.mean(stored['errors'][index]) * 100:.1f}%"  # the mean over the seeds
    assert metrics[EN["experiments.clipped"]] == f"{stored['clipped_total'][index] * 100:.1f}%"
    spec = chart(at, "exp.chart_r")
    np.testing.assert_allclose(plotly_array(spec["data"][0]["y"])[:-1], stored["r_hist"][index][0])


def test_a_bad_link_value_is_replaced_with_a_notice():
    at = experiments(section="renorm", rmax="7", rbs="x")
    assert_clean(at)
    assert at.session_state["exp.r_max"] == 5.0 and at.session_state["exp.renorm_batch"] == 4
    assert len(at.warning) == 1


def test_other_settings_show_the_defaults_until_someone_runs_them():
    at = experiments(section="lr", lrep=1, lrbs=32)
    assert_clean(at)
    assert EN["experiments.showing_defaults"][:30] in text_of(at)
    assert not at.button(key="exp.run_lr").disabled
    assert at.query_params["lrep"] in ("1", ["1"]) and at.query_params["section"] in ("lr", ["lr"])


@pytest.mark.parametrize(
    "section, params, words",
    [("sweep", {"ep": 3}, "experiments.sweep_text"), ("smoothness", {"smlr": 0.05}, "experiments.smooth_numbers")],
)
def test_the_defaults_standing_in_for_other_settings_are_drawn_but_not_told_as_theirs(section, params, words):
    opening = EN[words].split("{")[0]  # the words before the first number
    assert opening in text_of(experiments(section=section))  # told for the defaults' own settings
    at = experiments(section=section, **params)
    assert_clean(at)
    assert EN["experiments.showing_defaults"][:30] in text_of(at)
    assert len(at.get("plotly_chart")) == SECTIONS[section]  # the defaults' charts, as a reference
    assert opening not in text_of(at)


@pytest.mark.slow
def test_run_it_yourself_computes_in_a_worker_and_shows_the_engines_numbers():
    at = experiments(section="lr", lrep=1, lrbs=128)
    at.button(key="exp.run_lr").click().run()
    assert at.session_state[common.ACTIVE]["name"] == "lr"
    poll(at, lambda a: common.ACTIVE not in a.session_state)
    assert_clean(at)
    assert EN["experiments.from_computed"] in text_of(at)
    config = ex.LrConfig(epochs=1, batch_size=128)
    here = ex.lr_robustness(config)  # the same experiment in this process
    table = at.table[0].value
    # a cell: "97.8% (seeds: 96.4–98.6%)", the mean over the seeds and their range, when no seed diverged
    cells = table[EN["train.norm_batch"]]
    kept = [i for i, gone in enumerate(here.diverged["batch"]) if not any(gone)]
    shown = [[float(x) / 100 for x in re.findall(r"[\d.]+(?=%)", cells[i])] for i in kept]
    expected = [[np.mean(a), min(a), max(a)] for a in (here.accuracy["batch"][i] for i in kept)]
    assert kept and np.allclose(shown, expected, atol=0.0015)
    again = experiments(section="lr", lrep=1, lrbs=128)  # another session: the server kept the result
    assert EN["experiments.from_computed"] in text_of(again) and again.button(key="exp.run_lr").disabled


@pytest.mark.slow
def test_a_running_experiment_can_be_stopped():
    at = experiments(section="sweep", ep=20, seeds=3)
    at.button(key="exp.run_sweep").click().run()
    at.button(key="exp.stop").click().run()
    # a run stopped in the queue ends within the click's run (and the page reruns to say so); a rerun
    # after that would be the student's next action, which dismisses the message
    if common.ACTIVE in at.session_state:
        poll(at, lambda a: common.ACTIVE not in a.session_state, timeout=60)
    assert EN["experiments.stopped"] in [i.value for i in at.info]


def test_a_run_past_this_pages_limit_is_refused_with_a_message():
    shared = runner()
    before = shared.max_per_owner
    shared.max_per_owner = 0  # no run for this page
    try:
        at = experiments(section="lr", lrep=1, lrbs=64)
        at.button(key="exp.run_lr").click().run()
        assert_clean(at)
        assert common.ACTIVE not in at.session_state
        assert EN["train.limit_session"].format(n=0) in [w.value for w in at.warning]
    finally:
        shared.max_per_owner = before
