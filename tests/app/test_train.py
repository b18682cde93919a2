"""The `train` page: a pair starts with one press, Step trains one batch, Reset forgets, the newest
pair is shown when it finishes, and its numbers are written in the page's language."""

import time

import pytest

from bn_core import train as tr
from lessons.train import sections
from tests.app.helpers import assert_clean, open_page, poll, text_of
from ui.i18n import catalog

PAGE = "lessons/train/train.py"


def views(at):
    return [sections.runner().view(r) for r in at.session_state[sections.ACTIVE]]


def progress_text(at):
    return " ".join(p.proto.text for p in at.get("progress"))


def finished_groups(at):
    return at.session_state[sections.GROUPS] if sections.GROUPS in at.session_state else []


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_the_page_opens_on_figure1_with_play_step_and_speed(lang):
    at = open_page(PAGE, lang)
    assert_clean(at)
    text = catalog(lang)
    assert at.selectbox(key="train.preset").value == "figure1"
    assert text["train.about_figure1"][:30] in text_of(at)
    assert at.button(key="train.start").label == text["train.play"] and not at.button(key="train.start").disabled
    assert at.button(key="train.reset").disabled  # nothing to reset yet
    assert text["train.empty"][:20] in text_of(at)


def test_play_trains_a_pair_from_the_same_weights_and_the_newest_pair_is_shown():
    # English: AppTest formats a selectbox's value with its format_func outside the session (in English)
    at = open_page(PAGE, "en", preset="custom", epochs="1", speed="max", hidden="16")
    at.button(key="train.start").click().run()
    configs = [v.config for v in views(at)]
    assert configs == [tr.TrainConfig(epochs=1, hidden=16), tr.TrainConfig(epochs=1, hidden=16).twin()]
    poll(at, lambda a: len(finished_groups(a)) == 1)
    assert_clean(at)
    # the second pair: a different seed; when it finishes the page shows it, not the first
    at.number_input(key="train.seed").set_value(1).run()
    at.button(key="train.start").click().run()
    poll(at, lambda a: len(finished_groups(a)) == 2)
    assert_clean(at)
    assert at.radio(key=sections.CHOSEN).value == 1
    views_shown = at.session_state[sections.GROUPS][1]["runs"]
    assert [v.config.seed for v in views_shown] == [1, 1]
    percents = [m.value for m in at.metric if m.label == catalog("en")["train.test_accuracy"]]
    assert percents == [f"{v.history.test_accuracy * 100:.1f}%" for v in views_shown]  # BN and none side by side


def test_step_trains_one_batch_then_reset_forgets_the_runs():
    at = open_page(PAGE, "en", preset="high_lr")
    at.button(key="train.step").click().run()
    assert at.session_state[sections.PAUSED]
    # step 0 and step 1, each measured; the runner may get there between a rerun and the next, so wait for the page
    poll(at, lambda a: all(len(v.measures) == 2 for v in views(a)) and "Step 1 of" in progress_text(a))
    assert [v.done for v in views(at)] == [1, 1]
    assert "Step 1 of 540 · epoch 1 of 30 · paused" in progress_text(at)
    at.button(key="train.step").click().run()
    poll(at, lambda a: all(len(v.measures) == 3 for v in views(a)))
    assert [v.done for v in views(at)] == [2, 2] and all(v.paused for v in views(at))
    ids = list(at.session_state[sections.ACTIVE])
    at.button(key="train.reset").click().run()
    assert_clean(at)
    assert sections.ACTIVE not in at.session_state
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(sections.runner().view(r).active for r in ids):
        time.sleep(0.2)
    assert all(sections.runner().view(r).history.stopped == "user" for r in ids)  # stopped, not trained on
    assert not finished_groups(at)  # a reset run is not kept


def test_play_pressed_while_the_page_mounts_starts_at_the_chosen_pace():
    # a browser still mounting the page once sent the pace control without its value: Play's callback
    # found None (a TypeError, the press lost); it uses the page's kept pace, and the page restores the control
    from ui.state import KEPT

    at = open_page(PAGE, "en", speed="5")
    at.session_state["train.speed"] = None
    at.session_state[KEPT] = {}  # pressed before the page's first run ended: nothing kept yet, the link says
    at.button(key="train.start").click().run()
    assert_clean(at)
    assert [v.speed for v in views(at)] == [5.0, 5.0]
    assert at.button_group(key="train.speed").value == "5"
    at.button(key="train.reset").click().run()
    assert_clean(at)


def test_a_run_ended_by_stop_is_told_as_information_and_a_crash_as_an_error():
    from types import SimpleNamespace

    en = catalog("en")
    for error, level, text in (
        ("stopped", "info", "train.stopped_unsaved"),  # terminated after the stop's grace: its results are lost
        ("stopped_in_queue", "info", "train.stopped_in_queue"),
        ("crash", "error", "train.crashed"),
    ):
        assert sections.failure_notice(SimpleNamespace(error=error, detail="")) == (level, en[text])
