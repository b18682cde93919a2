"""Presenter mode and hidden controls: from the link, kept in it, and only plain names reach the style sheet."""

import pytest

from tests.app.helpers import assert_clean, open_page
from ui.present import css_class, parse_hidden


def styles(at) -> str:
    return " ".join(str(h.proto.body) for h in at.get("html"))


def test_presenter_mode_from_the_link_enlarges_the_lesson_and_stays_in_the_link():
    at = open_page("lessons/neuron/neuron.py", "en", present="1")
    assert_clean(at)
    assert "html { font-size: 20.8px !important; }" in styles(at)  # on a screen at least 640 px wide
    assert at.query_params["present"] in ("1", ["1"])
    assert at.toggle(key="present_toggle").value is True
    at.toggle(key="present_toggle").set_value(False).run()
    assert "html { font-size" not in styles(at) and "present" not in at.query_params


def test_hidden_controls_are_hidden_on_the_lesson_that_names_them():
    at = open_page("lessons/neuron/neuron.py", "en", hide="act,n,nonsense")
    assert_clean(at)
    sheet = styles(at)
    assert ".st-key-neuron-act" in sheet and ".st-key-neuron-n," in sheet
    assert "nonsense" not in sheet and "st-key-neuron-mu" not in sheet
    assert at.query_params["hide"] in ("act,n,nonsense", ["act,n,nonsense"])  # kept for the next lesson
    at.switch_page("lessons/bn_lab/bn-lab.py").run()
    assert ".st-key-bnlab-n," in styles(at)  # the same name hides bn-lab's batch size


@pytest.mark.parametrize(
    "raw, names",
    [
        ("act, N ,seed", ("act", "n", "seed")),
        ("act}body{display:none", ()),
        ("a" * 40 + ",ok", ("ok",)),
        (",".join(f"p{i}" for i in range(50)), tuple(f"p{i}" for i in range(30))),
        ("", ()),
    ],
)
def test_only_plain_parameter_names_are_taken(raw, names):
    assert parse_hidden(raw) == names


def test_css_class_follows_streamlits_rule_for_keys():
    assert css_class("neuron.w1.slider") == "st-key-neuron-w1-slider"
