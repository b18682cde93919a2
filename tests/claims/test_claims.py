"""Every sentence of the lessons that states what training does, with the configuration behind it.

A claim names the catalog key of its sentence and the words in it that it backs (so that a changed
sentence fails here until its check changes too), the measurement (tests/claims/measure.py: the
configuration, run once per seed) and the check. Measurements from training run under each CPU
setting of tests/claims/environments.py (both kernel paths and both thread counts, seed 0), after the
rest of the suite; the margins come from benchmarks/claims_spread.py
(seeds 0-9 under all four settings), whose ranges the sentences state.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from bn_core import train as tr
from serve import jobs
from tests.app.helpers import ROOT
from tests.claims import background, measure
from tests.claims.environments import ENVIRONMENTS

EN = tomllib.loads((ROOT / "locales" / "en.toml").read_text(encoding="utf-8"))


def sentence(key: str) -> str:
    value = EN
    for part in key.split("."):
        value = value[part]
    return value


@dataclass(frozen=True)
class Claim:
    key: str  # "section.name" (or "quiz.question.why") of en.toml
    words: str  # the words of that sentence this claim backs
    measure: str  # a function of tests/claims/measure.py, run per seed, or "shipped:<experiment>"
    check: Callable[[dict], None]  # the measured values per seed -> raises AssertionError

    def __str__(self) -> str:
        return f"{self.key}:{self.measure}"


def all_of(values, test) -> None:
    bad = [(i, v) for i, v in enumerate(values) if not test(v)]
    assert not bad, f"(seed index, value) outside the claim: {bad}"


# --- the checks: each from the sentence it names ------------------------------------------------------------
def figure1(v):
    all_of(v["bn_steps_to_90"], lambda s: s is not None and s <= 50)
    all_of(v["none_steps_to_90"], lambda s: s is not None and 700 <= s <= 1_500)  # "about a thousand"
    all_of(v["bn_drift"], lambda d: d < 1.0)
    all_of(zip(v["bn_drift"], v["none_drift"], strict=True), lambda p: p[1] >= 3 * p[0])


def classic(v):
    all_of(v["bn_test"], lambda a: a >= 0.97)
    all_of(v["none_test"], lambda a: a is not None and a >= 0.95)


def figure1_ranges(v):
    """ "after 28–42 steps against 973–1 120": seeds 0-9; checked with a tenth of margin."""
    all_of(v["bn_steps_to_90"], lambda s: s is not None and 25 <= s <= 46)
    all_of(v["none_steps_to_90"], lambda s: s is not None and 880 <= s <= 1_230)


def high_lr(v):
    all_of(v["bn_test"], lambda a: a >= 0.95)
    all_of(v["none_test"], lambda a: a is None or a <= 0.25)  # diverged, or next to nothing (chance: 10 %)


def high_lr_ranges(v):
    """ "with BN 95.8–99.7 % test accuracy, without 9.7–18.9 % or diverged in epoch 2": seeds 0-9; a point of margin."""
    all_of(v["bn_test"], lambda a: 0.948 <= a <= 1.0)
    all_of(zip(v["none_test"], v["none_diverged_epoch"], strict=True), lambda p: p[1] in (None, 1, 2, 3))
    all_of(v["none_test"], lambda a: a is None or 0.087 <= a <= 0.199)


def stats_default(v):
    """ "54–70 % test accuracy, against 96.7–98.6 %": seeds 0-9; the test allows a few points."""
    all_of(v["batch_test"], lambda a: a > 0.96)
    all_of(v["running_test"], lambda a: 0.50 <= a <= 0.75)


def stats_lr03(v):
    all_of(v["batch_test"], lambda a: a > 0.95)
    all_of(v["running_diverged"], bool)
    all_of(v["running_last_step"], lambda s: s < 50)


def gap(v):
    """ "42–55 % against 96.7–98.6 % in eval mode", more than a third lost; at 64 "within about two points"."""
    all_of(v["eval"], lambda a: a > 0.96)
    all_of(np.ravel(v["train_at_2"]), lambda a: 0.38 <= a <= 0.60)
    all_of(zip(v["eval"], np.min(v["train_at_2"], axis=1), strict=True), lambda p: p[0] - p[1] > p[0] / 3)
    all_of(np.ravel(v["gap_at_64"]), lambda g: -0.015 <= g <= 0.03)


def unit(v):
    all_of(v["batch_b_moved"], lambda b: b < 1e-12)  # exactly no gradient, up to rounding
    all_of(v["batch_w_moved"], lambda w: w < 0.01)
    assert max(abs(w - 0.5) for w in v["w_end_batch_of_2"]) > 1.0  # in batches of two w wanders far
    all_of(v["w_end_batch_of_128"], lambda w: abs(w - 0.5) < 0.1)
    all_of(zip(v["running_b_mid"], v["running_b_end"], strict=True), lambda p: p[0] > 3 and p[1] > p[0] + 2)
    all_of(zip(v["loss_running"], v["loss_batch"], strict=True), lambda p: p[1] - 0.5 < p[0] < p[1])


def noise_formula(v):
    """ "within 10 % of the measured spread from B = 32 for |x₀| ≤ 1, from B = 128 for |x₀| ≤ 2"."""
    sizes = v["sizes"][0]
    for x0, from_b in ((0.0, 32), (0.5, 32), (1.0, 32), (2.0, 128)):
        for ratios in v[f"ratio_{x0}"]:
            all_of([r for b, r in zip(sizes, ratios, strict=True) if b >= from_b], lambda r: abs(r - 1) < 0.1)


def noise_small(v):
    """ "in a batch of two the output is always about +1 or −1"; "for an x₀ far from the others the spread even
    grows from B = 2 to B = 8 before it shrinks"."""
    for x0 in (0.0, 1.0, 2.0, 3.0):
        all_of(v[f"near_one_at_2_{x0}"], lambda share: share > 0.97)
    at = v["sizes"][0].index
    for spread in v["spread_2.0"]:
        assert spread[at(8)] > spread[at(2)] and spread[at(256)] < spread[at(8)]


def smoothness(v):
    """intro_smoothness (Santurkar et al.: BN makes the landscape smoother): with BN the gradient changes less and
    the effective β is lower in every seed, the loss range along the gradient in all but at most one; about_unit_mean:
    noisy BN's unit "jumps around while plain BN holds it still"."""
    for name in ("grad_change", "beta"):
        all_of(zip(v[f"{name}_batch"], v[f"{name}_none"], strict=True), lambda p: p[0] < p[1])
    lower = sum(b < n for b, n in zip(v["loss_range_batch"], v["loss_range_none"], strict=True))
    assert lower >= max(1, len(v["loss_range_none"]) - 1)
    all_of(zip(v["unit_mean_std_noisy"], v["unit_mean_std_batch"], strict=True), lambda p: p[0] > 5 * p[1])


# --- the experiments lesson: its shipped results, every seed (lessons/experiments/results) ---------------------
def sweep_rule(result):
    sizes, errors = list(result.config.sizes), np.array(result.val_error["batch"])  # [size][seed]
    from_8 = errors[sizes.index(8) :]
    all_of(np.ptp(from_8, axis=0), lambda p: p < 0.03)  # "hardly moves from 128 down to 8", in every seed
    all_of(errors[0] / errors[sizes.index(32)], lambda r: r > 5)  # "breaks only at the smallest batches"


def sweep_quiz(result):
    mean = result.mean_error("batch")
    sizes = list(result.config.sizes)
    assert mean[0] > 10 * mean.min()  # "at 2 it is more than ten times its best"
    assert mean[sizes.index(8) :].max() < 2 * mean.min()  # "from 8 up it stays close to it"


def sweep_gap(result):
    gap = np.array(result.bn_train_mode_error) - np.array(result.val_error["batch"])  # [size][seed]
    all_of(gap[0], lambda g: g > 0.1)  # "Solid and dotted blue differ by the train/eval gap" at batch size 2
    all_of(gap[1], lambda g: g > 0.03)


def lr_rates(result):
    """ "with BN up to 1.0 (0.3 with one seed in five), without it only up to 0.1"."""
    assert sorted(result.largest_lrs("batch")) == [0.3, 1.0, 1.0, 1.0, 1.0]
    all_of(result.largest_lrs("none"), lambda r: r == 0.1)


def renorm_settle(result):
    for index in range(len(result.config.settings)):
        early, late = result.clipped_in(index, 0), result.clipped_in(index, 3)
        assert late > 0.4 * early > 0


CLAIMS = (
    Claim("train.about_figure1", "With BN the test accuracy passes 90 % within 50 steps", "figure1", figure1),
    Claim("train.about_figure1", "steady with BN, drifting without", "figure1", figure1),
    Claim("train.about_figure1", "after 28–42 steps against 973–1 120", "figure1", figure1_ranges),
    Claim("train.about_classic", "with BN at least 97 % test accuracy, without at least 95 %", "classic", classic),
    Claim("train.about_high_lr", "With BN before each ReLU the same rate trains to over 95 %", "high_lr", high_lr),
    Claim(
        "train.about_high_lr",
        "with BN 95.8–99.7 % test accuracy, without 9.7–18.9 % or diverged in epoch 2",
        "high_lr",
        high_lr_ranges,
    ),
    Claim("train.about_high_lr", "it learns next to nothing (guessing gives 10 %) or diverges", "high_lr", high_lr),
    Claim("quiz.high_lr_survives.why", "learns next to nothing (at most about 19 % test accuracy", "high_lr", high_lr),
    Claim("quiz.high_lr_survives.why", "the same network with BN before each ReLU passes 95 %", "high_lr", high_lr),
    Claim("train.why", "BatchNorm reaches 90 % in a small fraction of the steps", "figure1", figure1),
    Claim("train.why", "with *the classic model* both learn and BN's gain is small", "classic", classic),
    Claim("inside.stats_intro", "running statistics end far below batch statistics", "stats_default", stats_default),
    Claim("inside.stats_intro", "54–70 % test accuracy, against 96.7–98.6 %", "stats_default", stats_default),
    Claim("inside.stats_intro", "diverges within its first 50 steps", "stats_lr03", stats_lr03),
    Claim("inside.gap_text", "batches of 2 cost more than a third of the accuracy", "gap", gap),
    Claim("inside.gap_text", "42–55 % against 96.7–98.6 % in eval mode", "gap", gap),
    Claim("inside.gap_text", "the two modes are within about two points", "gap", gap),
    Claim("inside.unit_intro", "b gets exactly no gradient", "unit", unit),
    Claim("inside.stats_result", "a little lower", "unit", unit),
    Claim("inside.unit_intro", "at the defaults w moves by less than 0.01 in 300 steps", "unit", unit),
    Claim("inside.noise_text", "within 10 % of the measured spread from B = 32 for |x₀| ≤ 1", "noise", noise_formula),
    Claim("inside.noise_text", "in a batch of two the output is always about +1 or −1", "noise", noise_small),
    Claim("inside.noise_text", "the spread even grows from B = 2 to B = 8", "noise", noise_small),
    Claim("experiments.intro_smoothness", "it makes the loss landscape smoother", "smoothness", smoothness),
    Claim("experiments.about_unit_mean", "this mean jumps around while plain BN holds it", "smoothness", smoothness),
    Claim("experiments.rule", "error hardly moves from 128 down to 8 images", "shipped:sweep", sweep_rule),
    Claim("quiz.exp_small_batch.b", "at 2 it is more than ten times its best", "shipped:sweep", sweep_quiz),
    Claim("experiments.sweep_text", "Solid and dotted blue differ by the train/eval gap", "shipped:sweep", sweep_gap),
    Claim("quiz.exp_largest_lr.a", "with BN up to 1.0 (0.3 with one seed in five)", "shipped:lr", lr_rates),
    Claim("experiments.renorm_settle", "far apart by chance at every step", "shipped:renorm", renorm_settle),
    # the sections' first lines (do -> see)
    Claim("lead.train", "with it, test accuracy passes 90 % within 50 steps", "figure1", figure1),
    Claim("lead.inside_stats", "only the first learns well", "stats_default", stats_default),
    Claim("lead.inside_noise", "smaller in larger batches", "noise", noise_formula),
    Claim("lead.exp_sweep", "its error hardly moves from 128 down to 8 images", "shipped:sweep", sweep_rule),
    Claim("lead.exp_sweep", "and breaks at 2", "shipped:sweep", sweep_quiz),
    Claim(
        "lead.exp_lr",
        "learning rates up to 1.0 train (0.3 in one seed of five); without it, only up to 0.1",
        "shipped:lr",
        lr_rates,
    ),  # fmt: skip
    Claim("lead.exp_smoothness", "the gradient changes less as the weights move along it", "smoothness", smoothness),
)
NUMPY = ("unit", "noise")  # NumPy only: no torch kernel, no thread count changes them
TRAINED = sorted({c.measure for c in CLAIMS if not c.measure.startswith("shipped:")} - set(NUMPY))


@pytest.mark.parametrize("claim", CLAIMS, ids=str)
def test_the_claim_is_in_its_sentence(claim):
    assert claim.words in sentence(claim.key)


@pytest.mark.slow
@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda e: e.label)
@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.measure in TRAINED], ids=str)
def test_a_training_claim_holds_for_every_seed(claim, env, claim_measure):
    result = background.result(claim.measure, env)
    assert result["machine"]["threads"] == env.threads
    assert (result["machine"]["cpu_capability"] == "DEFAULT") == (env.kernels == "default")
    claim.check(result["values"])


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.measure in NUMPY], ids=str)
def test_a_numpy_claim_holds_for_every_seed(claim):
    per_seed = [measure.MEASURES[claim.measure](seed) for seed in range(5)]
    claim.check({key: [run[key] for run in per_seed] for key in per_seed[0]})


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.measure.startswith("shipped:")], ids=str)
def test_a_claim_holds_for_every_seed_of_the_shipped_results(claim):
    name = claim.measure.removeprefix("shipped:")
    claim.check(jobs.from_json(name, (jobs.SHIPPED / f"{name}.json").read_text(encoding="utf-8")))


@pytest.fixture
def claim_measure():
    """Marks the tests that run last (tests/conftest.py); the first of them starts every measurement."""
    background.start(set(TRAINED))


# --- that nothing is left out ------------------------------------------------------------------------------------
def training_sentences() -> set[str]:
    """Keys of en.toml whose sentence reports what a training run gives: a number of steps, an accuracy or an
    error in %, or a comparison said to be measured."""
    found = set()

    def walk(table, prefix):
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, name + ".")
            elif isinstance(value, str) and re.search(
                r"measured over|seeds? \d|\d+ steps|test accuracy|trains to|reaches 90|validation error"
                r"|largest learning rate|its best|trains about as well",
                value,
            ):
                found.add(name)

    walk(EN, "")
    return found


# Sentences the table above does not back, and why: their numbers are filled in from a run on the page
# (placeholders), or they are about the published paper, or the experiments' shipped results back them
# (tests/unit/test_experiments_files.py).
NOT_FROM_A_RUN = {
    "train.empty": "describes the player",
    "train.steps_to_90_help": "defines a measure",
    "train.record_help": "says what is reproducible",
    "train.inside_intro": "describes a chart",
    "train.not_learning": "a hint shown when the run on the page is at chance",
    "train.diverged": "a notice about the run on the page",
    "inside.pair_empty": "describes the pair's chart",
    "inside.spread_text": "sampling, not training: its numbers are computed on the page",
    "experiments.intro_sweep": "describes the experiment",
    "experiments.sweep_title": "a chart title",
    "experiments.paper_caption": "the paper's published numbers",
    "experiments.renorm_text": "its numbers and its comparison are computed from the result shown",
    "experiments.largest_lr_help": "defines a measure",
    "experiments.lr_text": "its rates are computed from the result shown (quiz.exp_largest_lr.a states them)",
    "experiments.smooth_conclusion": "its count of seeds is computed from the result shown",
    "quiz.exp_small_batch.q": "a question",
    "code.digits": "a script's comment: the data split",
    "code.renorm_grid": "a script's comment: what it prints",
    "code.sweep_error": "a script's comment: what it prints",
}


def test_every_sentence_about_training_runs_is_backed_here():
    backed = {c.key for c in CLAIMS}
    missing = training_sentences() - backed - set(NOT_FROM_A_RUN)
    assert not missing, f"sentences about training with no claim here: {sorted(missing)}"


def test_the_twin_without_normalization_keeps_the_biases_except_in_the_classic_model():
    """train.why: "Its twin without normalization gets them back [...]; only *the classic model* has no hidden
    bias in either network"."""
    assert "only *the classic model* has no hidden bias in either network" in sentence("train.why")
    for name, config in tr.PRESETS.items():
        assert not config.linear_bias or config.placement == "after"  # BN directly after the Linear: no bias
        assert config.twin().linear_bias == (name != "classic"), name
    assert tr.TrainConfig(norm="batch").twin().linear_bias  # "your own settings"
