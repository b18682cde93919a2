"""The `train` page: one press asks the server for a pair's records (computed once, at full speed,
shared by everyone who asks for the same settings), the player gets exactly the record's measures,
the newest pair is shown when it is computed, and its numbers are written in the page's language."""

import json

import pytest

from bn_core import train as tr
from lessons.train import state
from tests.app.helpers import assert_clean, open_page, poll, text_of
from ui import runs
from ui.i18n import catalog

PAGE = "lessons/train/train.py"


def views(at):
    return runs.views(at.session_state[state.ACTIVE])


def finished_groups(at):
    return at.session_state[state.GROUPS] if state.GROUPS in at.session_state else []


def player_data(at) -> dict | None:
    """The data the page gave the run player (ui/player.py), as the browser receives it."""
    for element in at.get("bidi_component"):
        data = json.loads(element.proto.json or "null")
        if isinstance(data, dict) and "runs" in data:
            return data
    return None


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_the_page_opens_on_figure1_with_play_and_speed(lang):
    at = open_page(PAGE, lang)
    assert_clean(at)
    text = catalog(lang)
    assert at.selectbox(key="train.preset").value == "figure1"
    assert text["train.about_figure1"][:30] in text_of(at)
    assert at.button(key="train.start").label == text["train.play"] and not at.button(key="train.start").disabled
    assert at.button_group(key="train.speed").value == "100"
    assert text["train.empty"][:20] in text_of(at)
    assert player_data(at) is None  # nothing to play yet


@pytest.mark.slow
def test_play_computes_a_pair_once_and_the_player_gets_its_record():
    at = open_page(PAGE, "en", preset="custom", epochs="1", hidden="16")
    at.button(key="train.start").click().run()
    configs = [v.config for v in views(at)]
    assert configs == [tr.TrainConfig(epochs=1, hidden=16), tr.TrainConfig(epochs=1, hidden=16).twin()]
    keys = list(at.session_state[state.ACTIVE])
    poll(at, lambda a: len(finished_groups(a)) == 1)
    assert_clean(at)
    shown = finished_groups(at)[0]["runs"]
    assert [v.run_id for v in shown] == keys
    data = player_data(at)
    assert data["restart"] == 1 and data["speed"] == 100.0
    for part, view in zip(data["runs"], shown, strict=True):
        assert part["steps"] == [m.step for m in view.history.measures]
        assert part["acc"] == [round(m.test_accuracy, 4) for m in view.history.measures]
        assert part["reached"] == tr.steps_to(view.history, 0.9)
        assert part["state"] == "finished"
    assert data["total"] == shown[0].total
    took = max(v.compute_seconds for v in shown)
    assert catalog("en")["train.record_note"].split("{")[0] in text_of(at) and took > 0
    # a second page asking for the same settings gets the stored records at once: nothing is computed
    other = open_page(PAGE, "en", preset="custom", epochs="1", hidden="16")
    computing = runs.runner().counts()
    other.button(key="train.start").click().run()
    poll(other, lambda a: len(finished_groups(a)) == 1, timeout=5)
    assert runs.runner().counts() == computing
    assert [v.run_id for v in finished_groups(other)[0]["runs"]] == keys


@pytest.mark.slow
def test_a_second_pair_is_shown_when_it_is_computed_and_the_speed_reaches_the_player():
    at = open_page(PAGE, "en", preset="custom", epochs="1", hidden="16", seed="7")
    at.button(key="train.start").click().run()
    poll(at, lambda a: len(finished_groups(a)) == 1)
    at.number_input(key="train.seed").set_value(8).run()
    at.button(key="train.start").click().run()
    poll(at, lambda a: len(finished_groups(a)) == 2)
    assert_clean(at)
    assert at.radio(key=state.CHOSEN).value == 1
    shown = finished_groups(at)[1]["runs"]
    assert [v.config.seed for v in shown] == [8, 8]
    percents = [m.value for m in at.metric if m.label == catalog("en")["train.test_accuracy"]]
    assert percents == [f"{v.history.test_accuracy * 100:.1f}%" for v in shown]  # BN and none side by side
    assert player_data(at)["restart"] == 2
    at.button_group(key="train.speed").set_value("5").run()
    assert player_data(at)["speed"] == 5.0 and player_data(at)["restart"] == 2  # the same playback, slower


@pytest.mark.slow
def test_stop_releases_the_computation_and_says_so():
    at = open_page(PAGE, "en", preset="custom", epochs="100", hidden="512", bs="2", seed="11")
    at.button(key="train.start").click().run()
    keys = list(at.session_state[state.ACTIVE])
    poll(at, lambda a: state.ACTIVE in a.session_state and any(v.done > 0 for v in views(a)))
    assert "Computed on the server: step" in " ".join(p.proto.text for p in at.get("progress"))
    at.button(key="train.stop").click().run()
    assert_clean(at)
    assert state.ACTIVE not in at.session_state
    assert catalog("en")["train.stopped_computing"] in text_of(at)
    shared = runs.runner()  # (a view would count as a heartbeat: look at the runner's own table)
    poll(at, lambda a: not any(k in shared._runs for k in keys), timeout=30)  # nobody else wanted it: gone
    assert all(k not in shared.records for k in keys)  # and no record of a run cut short


def test_a_run_that_ended_without_a_record_is_told_as_information_or_as_an_error():
    from types import SimpleNamespace

    en = catalog("en")
    for error, level, text in (
        ("stopped", "info", "train.stopped_unsaved"),
        ("stopped_in_queue", "info", "train.stopped_in_queue"),
        ("crash", "error", "train.crashed"),
    ):
        assert runs.failure_notice(SimpleNamespace(error=error, detail="")) == (level, en[text])
