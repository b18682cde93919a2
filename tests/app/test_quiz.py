"""Check-yourself questions: complete in every language, and every right answer true."""

import numpy as np
import pytest
import torch

from bn_core import BatchNorm, neuron
from tests.app.helpers import assert_clean, lesson_state, open_page
from ui.i18n import LANGUAGES, catalog
from ui.lessons import LESSONS
from ui.quiz import OPTIONS

QUESTIONS = {lesson.name: lesson_state(lesson.name).QUESTIONS for lesson in LESSONS}

ALL = [q for questions in QUESTIONS.values() for q in questions]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_question_has_its_texts_and_a_link_to_a_real_page(lang):
    text = catalog(lang)
    pages = {lesson.url_path for lesson in LESSONS}
    for q in ALL:
        assert q.right in OPTIONS
        for part in ("q", "why", *OPTIONS):
            assert text[f"quiz.{q.id}.{part}"].strip(), (q.id, part)
        assert q.link.split("?")[0] in pages


def test_the_page_marks_a_right_and_a_wrong_answer():
    at = open_page("lessons/neuron/neuron.py", "en")
    at.radio(key="quiz.neuron.preset_b_zeros").set_value("a").run()
    assert_clean(at)
    assert any(catalog("en")["quiz.right"] in s.value for s in at.success)
    at.radio(key="quiz.neuron.bn_before_half").set_value("a").run()
    assert any(catalog("en")["quiz.wrong"] in s.value for s in at.info)


# The right answers, checked.


def test_preset_b_puts_most_of_z_below_zero_and_preset_a_none():
    m, s = neuron.pre_activation_params(-0.5, 0.25, 1.0, 5.0, 1.0)
    assert m == pytest.approx(-0.25) and s == pytest.approx(0.559, abs=1e-3)
    assert neuron.relu_moments(m, s)[0] > 0.6
    assert neuron.relu_moments(*neuron.pre_activation_params(0.5, 0.5, 1.0, 5.0, 1.0))[0] < 1e-9


def test_bn_before_relu_zeroes_about_half_whatever_the_weights():
    x = neuron.sample_inputs(100_000, 5.0, 1.0, seed=0)
    for w in np.random.default_rng(0).uniform(-3, 3, (5, 3)):
        share = np.mean(neuron.forward(x, *w, "relu", "before").out == 0)
        assert abs(share - 0.5) < 0.01


def test_bn_after_relu_sends_every_zero_to_minus_mu_over_sigma():
    x = neuron.sample_inputs(10_000, 5.0, 1.0, seed=0)
    r = neuron.forward(x, -0.5, 0.25, 1.0, "relu", "after")
    moved = r.out[r.activated == 0]
    assert np.allclose(moved, -r.bn_mean / np.sqrt(r.bn_var + 1e-5)) and moved.max() < 0


def test_keras_momentum_0_9_tracks_the_same_running_mean_as_pytorch_0_1():
    rng = np.random.default_rng(1)
    torch_layer = torch.nn.BatchNorm1d(2, momentum=0.1, dtype=torch.float64).train()
    keras = BatchNorm(2, convention="keras", momentum=0.9, axis=1)
    for _ in range(20):
        x = rng.normal(3.0, 2.0, (16, 2))
        torch_layer(torch.from_numpy(x))
        keras(x, training=True)
    assert np.allclose(keras.running_mean, torch_layer.running_mean.numpy())


def test_batchnorm1d_refuses_a_batch_of_one_in_training_and_keras_returns_beta():
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(3).train()(torch.ones(1, 3))
    layer = BatchNorm(3, convention="keras", axis=1)
    layer.beta = np.array([0.5, -1.0, 2.0])
    assert np.allclose(layer(np.array([[7.0, 8.0, 9.0]]), training=True), layer.beta)


def test_a_constant_before_batchnorm_changes_nothing_in_training():
    x = torch.randn(32, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    bn = torch.nn.BatchNorm1d(4, dtype=torch.float64).train()
    assert torch.allclose(bn(x + torch.tensor([5.0, -3.0, 0.5, 100.0], dtype=torch.float64)), bn(x), atol=1e-9)


def test_merging_device_statistics_needs_counts_and_means_not_an_average_of_variances():
    rng = np.random.default_rng(2)
    devices = [rng.normal(mu, 1.0, n) for mu, n in ((0.0, 8), (3.0, 4), (-1.0, 16))]
    whole = np.concatenate(devices)
    counts = np.array([d.size for d in devices])
    means, variances = np.array([d.mean() for d in devices]), np.array([d.var() for d in devices])
    mean = (counts * means).sum() / counts.sum()
    merged = (counts * (variances + (means - mean) ** 2)).sum() / counts.sum()
    assert merged == pytest.approx(torch.from_numpy(whole).var(unbiased=False).item(), rel=1e-12)
    assert abs(variances.mean() - whole.var()) > 0.5  # the naive average misses the spread of the means


def test_epsilon_shrinks_a_nearly_constant_channel_instead_of_blowing_it_up():
    x = 3.0 + 1e-4 * np.random.default_rng(5).standard_normal((64, 1))  # batch variance about 1e-8
    x_hat = BatchNorm(1, eps=1e-3, momentum=0.1)(x, training=True)
    var = x.var()
    # the answer: over the batch x̂ has mean 0 and variance σ²_B/(σ²_B + ε), tiny here
    assert x_hat.mean() == pytest.approx(0.0, abs=1e-12)
    assert x_hat.var() == pytest.approx(var / (var + 1e-3), rel=1e-9) and x_hat.var() < 1e-4
    assert np.abs(x_hat).max() < 0.02  # without eps these would be standard scores, up to about 2.5


@pytest.mark.parametrize("lesson", list(QUESTIONS))
def test_each_lesson_with_questions_shows_them(lesson):
    page = next(x for x in LESSONS if x.name == lesson)
    at = open_page(page.path, "zh")
    assert_clean(at)
    for q in QUESTIONS[lesson]:
        assert at.radio(key=f"quiz.{lesson}.{q.id}").index is None  # unanswered until the student picks


# train: the right answers, checked by training (the digits are bundled; a few seconds each).


@pytest.fixture(scope="module")
def digits():
    from bn_core.data import load_digits

    return load_digits()


def test_figure1_percentiles_wander_without_bn_and_stay_with_it(digits):
    from dataclasses import replace

    from bn_core import train as tr

    config = replace(tr.PRESETS["figure1"], epochs=2)  # the drift shows from the first steps
    moved = []
    for run in (tr.train(config, data=digits), tr.train(config.twin(), data=digits)):
        # the chart's band: the last hidden layer's first unit leaving the normalization, i.e. the sigmoid's input
        q = np.array([m.quantiles[-1, 1, 0] for m in run.measures])  # (measures, 15th/50th/85th)
        moved.append((q[:, 1].max() - q[:, 1].min()) / (q[0, 2] - q[0, 0]))  # the median's range in initial spreads
    with_bn, without = moved
    assert with_bn < 0.5 and without > 5


def test_a_batch_of_one_with_batchnorm_cannot_be_played_and_the_page_says_why():
    at = open_page("lessons/train/train.py", "en", preset="custom", bs="1")
    assert not at.exception
    assert at.button(key="train.start").disabled
    assert any(catalog("en")["train.batch_of_one"][:40] in e.value for e in at.error)


def shipped(name):
    from serve import jobs

    return jobs.from_json(name, (jobs.SHIPPED / f"{name}.json").read_text(encoding="utf-8"))


def test_bn_jumps_only_at_the_smallest_batches_of_the_shipped_sweep():
    sweep = shipped("sweep")
    error = dict(zip(sweep.config.sizes, sweep.mean_error("batch"), strict=True))
    best = min(error.values())
    assert error[2] > 10 * best  # "at 2 it is more than ten times its best"
    assert all(e < 1.5 * best for size, e in error.items() if size >= 8)  # "from 8 up it stays close to it"
    assert error[32] < 1.5 * best  # not "below about 32, as on ImageNet"


def test_in_the_gn_papers_numbers_only_gn_keeps_its_error():
    from lessons.experiments import sweep

    bn, gn = np.array(sweep.PAPER_BN), np.array(sweep.PAPER_GN)
    assert np.ptp(gn) < 0.0025 and np.ptp(bn) > 0.1  # GN within 0.2 points, BN over 10
    assert (bn.min(), bn.max(), gn[0], gn[-1]) == (0.236, 0.347, 0.241, 0.241)  # the figures the answer quotes


def test_bn_trains_at_larger_learning_rates_as_the_answer_says():
    lr = shipped("lr")
    assert max(lr.largest_lrs("batch")) == 1.0 and set(lr.largest_lrs("none")) == {0.1}
