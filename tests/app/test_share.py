"""Named presets: each is one link, valid for its lesson, titled in every language; pressing it
gives the page its link gives, and the page shows what the preset's name promises."""

import re

import numpy as np
import pytest
import torch

from tests.app.helpers import assert_clean, lesson_state, open_page, text_of
from ui.i18n import LANGUAGES, catalog
from ui.lessons import LESSONS
from ui.state import format_value, parse

EN = catalog("en")
PAGES = {lesson.name: lesson.path for lesson in LESSONS}
PRESETS = {lesson.name: getattr(lesson_state(lesson.name), "PRESETS", ()) for lesson in LESSONS}
PRESETS = {lesson: presets for lesson, presets in PRESETS.items() if presets}
ALL = [(lesson, preset) for lesson, presets in PRESETS.items() for preset in presets]
IDS = [f"{lesson}-{preset.id}" for lesson, preset in ALL]


def lesson_params(lesson: str):
    """The lesson's declared link parameters, from its state.py (which runs no page)."""
    return lesson_state(lesson).PARAMS


def metric(at, label_key: str) -> float:
    value = next(m.value for m in at.metric if m.label == EN[label_key])
    return float(value.replace("%", "").replace(",", "."))


# What each preset's name promises, checked on the page it opens (English).


def dead_relu(at):
    assert metric(at, "neuron.zero_share") >= 99.9  # every output of the ReLU is exactly 0


def bn_revives(at):
    assert abs(metric(at, "neuron.zero_share") - 50) < 2  # BN before ReLU: half of a standard normal is below 0


def saturated(at):
    assert metric(at, "neuron.saturated") >= 99  # z ~ N(11, 1.4): sigmoid(z) within 5 % of 1


def batch_of_one(at):
    with pytest.raises(ValueError) as refused:
        torch.nn.BatchNorm1d(3).train()(torch.ones(1, 3))
    assert any(str(refused.value) in c.value for c in at.code)  # PyTorch's own words


def keras_puzzle(at):
    # Keras 3 on the torch backend prints -0.2261953 for a fresh layer called directly (README)
    assert "-0.2261953" in at.dataframe[0].value["y"].tolist()


def eps_zero_constant(at):
    # Keras (PyTorch refuses eps = 0 in training): a constant channel gives x - mu = 0 and var + eps = 0
    assert [i.value for i in at.info] == [EN["bn_lab.eps_case_zero_over_zero"]]
    assert any("**nan**" in m.value for m in at.markdown)


def bn_vs_none(at):
    from bn_core.train import PRESETS as CONFIGS
    from lessons.train.settings import pair

    assert at.selectbox(key="train.preset").value == "figure1"
    assert EN["train.about_figure1"][:40] in text_of(at)
    assert [c.norm for c in pair(CONFIGS["figure1"])] == ["batch", "none"]  # one press trains both


def high_lr(at):
    assert at.selectbox(key="train.preset").value == "high_lr"
    assert EN["train.about_high_lr"][:40] in text_of(at)


def small_gain(at):
    assert at.selectbox(key="train.preset").value == "classic"
    assert EN["train.about_classic"][:40] in text_of(at)


def noisy_batches(at):
    text = next(m.value for m in at.markdown if "batches of 2" in m.value)
    sd = float(re.search(r"standard deviation of ([0-9]+\.[0-9]+)", text).group(1))
    # x0 = 1 among one other sample: BN's output is +1 or -1 (or near), far from x0 half the time; the page's
    # large-batch approximation sqrt((1 + x0^2/2) / B) gives 0.09 for B = 256
    assert sd > 0.6


def devices_disagree(at):
    rows = at.table[0].value.set_index(EN["inside.col_stats"])[EN["inside.col_var"]].astype(float)
    assert rows[EN["inside.row_whole"]] - rows[EN["inside.row_naive"]] > 1  # the devices' means are far apart


PROMISES = {f.__name__: f for f in (dead_relu, bn_revives, saturated, batch_of_one, keras_puzzle)}
PROMISES |= {f.__name__: f for f in (eps_zero_constant, bn_vs_none, high_lr, small_gain, noisy_batches)}
PROMISES |= {"devices_disagree": devices_disagree}


def test_every_preset_has_its_check():
    assert sorted(p.id for _, p in ALL) == sorted(PROMISES)


@pytest.mark.parametrize("lesson, preset", ALL, ids=IDS)
def test_a_preset_is_a_valid_link_of_its_lesson_titled_in_every_language(lesson, preset):
    params = {p.name: p for p in lesson_params(lesson)}
    for name, raw in preset.params().items():
        assert name in params, (preset.id, name)
        assert not parse(params[name], raw)[1], (preset.id, name, raw)  # used as written, not clamped
    for lang in LANGUAGES:
        assert catalog(lang)[f"share.{lesson}.{preset.id}"].strip()


@pytest.mark.parametrize("lesson, preset", ALL, ids=IDS)
def test_pressing_a_preset_shows_what_its_name_promises_and_what_its_link_shows(lesson, preset):
    at = open_page(PAGES[lesson], "en")
    at.session_state[f"share-menu-{lesson}"] = True  # the presets' menu is open
    at.button(key=f"share.{lesson}.{preset.id}").click().run()
    assert_clean(at)
    assert at.session_state[f"share-menu-{lesson}"] is False  # a choice closes it
    PROMISES[preset.id](at)
    params = lesson_params(lesson)
    expected = {
        p.name: format_value(parse(p, preset.params()[p.name])[0])
        for p in params
        if p.name in preset.params() and parse(p, preset.params()[p.name])[0] != p.default
    }
    assert {k: v for k, v in at.query_params.items() if k != "lang"} == expected
    linked = open_page(PAGES[lesson], "en", **preset.params())
    assert_clean(linked)
    PROMISES[preset.id](linked)
    assert {p.key: linked.session_state[p.key] for p in params} == {p.key: at.session_state[p.key] for p in params}


def test_a_preset_replaces_every_other_setting_with_its_default():
    at = open_page(PAGES["neuron"], "en", act="tanh", mu="2", n="1000", bn="1")
    at.button(key="share.neuron.dead_relu").click().run()
    assert at.selectbox(key="neuron.act").value == "relu" and at.session_state["neuron.n"] == 10_000
    assert not at.session_state["neuron.bn"]
    assert np.isclose(at.session_state["neuron.mu"], 5.0)


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("lesson", list(PRESETS))
def test_each_lesson_shows_its_presets_titled_in_every_language(lesson, lang):
    at = open_page(PAGES[lesson], lang)
    assert_clean(at)
    for preset in PRESETS[lesson]:
        assert at.button(key=f"share.{lesson}.{preset.id}").label == catalog(lang)[f"share.{lesson}.{preset.id}"]


@pytest.mark.parametrize("lesson", sorted(PAGES))
def test_a_lessons_link_names_are_its_own(lesson):
    # Two settings under one name would share one value in the link: the later one's (seen: the pair's seed
    # and the placement section's seed on `inside` were both `pseed`).
    names = [p.name for p in lesson_params(lesson)]
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)
