"""URL values are untrusted: parse() clamps, snaps or ignores them."""

import math

import pytest

from ui.state import Param, parse

W = Param("w1", "k", 0.5, lo=-3.0, hi=3.0)
N = Param("n", "k", 10_000, kind="int", lo=100, hi=100_000, options=(100, 1000, 10_000, 100_000))
ACT = Param("act", "k", "relu", kind="choice", choices=("relu", "tanh"))
BN = Param("bn", "k", False, kind="bool")


@pytest.mark.parametrize(
    "param, raw, expected, changed",
    [
        (W, "-0.5", -0.5, False),
        (W, "99", 3.0, True),
        (W, "-1e308", -3.0, True),
        (W, "nan", 0.5, True),
        (W, "inf", 0.5, True),
        (W, "abc", 0.5, True),
        (W, "", 0.5, True),
        (N, "1e12", 100_000, True),
        (N, "5", 100, True),
        (N, "900", 1000, True),
        (N, "10000", 10_000, False),
        (ACT, "tanh", "tanh", False),
        (ACT, "<script>", "relu", True),
        (BN, "1", True, False),
        (BN, "maybe", False, True),
    ],
)
def test_parse(param, raw, expected, changed):
    value, was_changed = parse(param, raw)
    assert value == expected and was_changed == changed
    if isinstance(value, float):
        assert math.isfinite(value)


def test_huge_input_is_cut_before_parsing():
    value, changed = parse(W, "9" * 10_000)
    assert value == 3.0 and changed
