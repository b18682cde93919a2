"""Numbers in each language's notation."""

import math

from ui.i18n import num, nums, pct, seconds


def test_english_and_chinese_keep_point_and_comma_grouping():
    for lang in ("en", "zh"):
        assert num(10_000, ",.0f", lang) == "10,000"
        assert num(0.25, ".2f", lang) == "0.25"


def test_russian_writes_decimal_comma_and_thin_space_groups():
    assert num(0.3, ".1f", "ru") == "0,3"
    assert num(12_345.5, ",.1f", "ru") == "12\u202f345,5"
    assert pct(0.123, 1, "ru") == "12,3\u00a0%"


def test_percent_and_seconds_units():
    assert pct(0.5, 0, "en") == "50%"
    assert seconds(0.3, "ru") == "0,3 с"
    assert seconds(0.3, "zh") == "0.3 秒"
    assert seconds(367.0, "en") == "367 s"


def test_non_finite_values_stay_readable():
    assert num(math.nan, ".3f", "ru") == "nan"
    assert num(-math.inf, ".3f", "ru") == "-inf"


def test_a_value_that_rounds_to_zero_has_no_sign():
    assert num(-0.0004, ".3f", "en") == "0.000"
    assert num(-0.0004, ".3f", "ru") == "0,000"
    assert num(-0.0, ".1%", "en") == "0.0%"
    assert num(-0.02, ".2f", "en") == "-0.02"


def test_a_small_share_is_not_printed_as_zero_and_a_rounding_error_is():
    # ε = 1e-5 over σ² = 2.83: 0.0004 % of the denominator, which "0.0 %" hid
    assert pct(1e-5 / 2.83, lang="ru") == "0,0004\u00a0%" and pct(3.5e-6, lang="en") == "0.0003%"
    assert pct(1e-17, lang="en") == "0.0%" and pct(0.123, lang="en") == "12.3%"


def test_a_russian_list_of_decimals_is_separated_by_semicolons():
    assert nums([0.01, 0.03, 1], lang="ru") == "0,01; 0,03; 1"
    assert nums([0.01, 0.03, 1], lang="en") == "0.01, 0.03, 1" == nums([0.01, 0.03, 1], lang="zh")
