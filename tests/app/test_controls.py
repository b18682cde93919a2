"""Sliders over decimals write their values as the page's text does (0,5 in Russian), and a link's value between
two steps lands on the nearest step (ui.controls)."""

import re

import pytest

from lessons.bn_lab.state import SECTIONS as BN_SECTIONS
from lessons.experiments.state import SECTIONS as EXP_SECTIONS
from lessons.inside.state import SECTIONS as INSIDE_SECTIONS
from tests.app.helpers import assert_clean, open_page
from ui.controls import steps

PAGES = [
    ("lessons/neuron/neuron.py", {}),
    ("lessons/train/train.py", {"preset": "custom"}),
    *(("lessons/bn_lab/bn-lab.py", {"section": s}) for s in BN_SECTIONS),
    *(("lessons/inside/inside.py", {"section": s}) for s in INSIDE_SECTIONS),
    *(("lessons/experiments/experiments.py", {"section": s}) for s in EXP_SECTIONS),
]
DECIMAL_POINT = re.compile(r"\d\.\d")


def test_steps_are_the_decimal_literals_from_one_end_to_the_other():
    values, digits = steps(-3.0, 3.0, 0.05)
    assert len(values) == 121 and values[0] == -3.0 and values[-1] == 3.0 and digits == 2
    assert 0.3 in values and 0.35 in values and 1.0 in values  # not 0.30000000000000004
    assert steps(0.1, 5.0, 0.1) == (tuple(round(0.1 * k, 1) for k in range(1, 51)), 1)


@pytest.mark.parametrize(("page", "params"), PAGES, ids=lambda v: v if isinstance(v, str) else str(v))
def test_every_slider_writes_russian_decimals_with_a_comma(page, params):
    at = open_page(page, "ru", **params)
    assert_clean(at)
    written = [option for slider in at.select_slider for option in slider.options]
    assert written, "the page has no slider over choices"
    assert not [w for w in written if DECIMAL_POINT.search(w)], "a decimal point in a Russian slider"
    # and no plain slider over decimals is left (Streamlit's sprintf would write 0.50)
    assert all(isinstance(slider.value, int) for slider in at.slider), [s.label for s in at.slider]


def test_a_link_value_between_two_steps_lands_on_the_nearest():
    at = open_page("lessons/bn_lab/bn-lab.py", "ru", gamma="1.234", beta="-0.26")
    assert_clean(at)
    assert at.select_slider(key="bnlab.gamma").value == 1.25
    assert at.select_slider(key="bnlab.beta").value == -0.25
    assert "1,25" in at.select_slider(key="bnlab.gamma").options
