"""Units, qualifiers, the one number formatter, and reading numbers as the page prints them."""

import math

import pytest

from cqbook.dataset import units
from cqbook.dataset.units import (
    MU_IN_M2,
    Quantity,
    format_cny,
    format_quantity,
    parse_number,
    read_numbers,
    reads_back,
    to_base,
)


def test_magnitudes_convert_yi_and_wan_to_cny():
    assert to_base(206, "亿元") == 206e8
    assert to_base(8000, "万元") == 8e7
    assert to_base(63242, "元") == 63242


def test_every_conversion_has_its_way_back():
    assert units.from_base(206e8, "亿元") == 206
    assert units.from_base(to_base(150, "亩"), "亩") == pytest.approx(150)
    assert units.to_yi(2.3381e11) == units.from_base(2.3381e11, "亿元") == 2338.1
    assert units.from_yi(206) == to_base(206, "亿元")
    assert units.to_wan(3_697_000) == 369.7 and units.from_wan(369.7) == 3_697_000
    with pytest.raises(ValueError, match="unknown unit 'lakh'"):
        units.from_base(1, "lakh")


def test_mu_converts_to_square_metres_at_fifteen_mu_per_hectare():
    assert MU_IN_M2 == pytest.approx(666.6667, rel=1e-6)
    assert to_base(150, "亩") == pytest.approx(100_000)
    assert to_base(1, "万平方米") == 10_000


def test_unknown_unit_is_refused_with_the_known_units_listed():
    with pytest.raises(ValueError, match=r"unknown unit '亿圆' \(known: 元, 万元, 亿元"):
        to_base(1, "亿圆")


def test_every_printed_qualifier_maps_to_a_term_with_a_bound():
    assert set(units.QUALIFIERS.values()) <= set(units.BOUND_OF)
    assert set(units.BOUND_OF.values()) == {"exact", "approx", "lower", "upper", "range"}


@pytest.mark.parametrize(
    ("qualifier", "bound", "limits"),
    [
        ("more_than", "lower", (5e9, None)),
        ("at_least", "lower", (5e9, None)),
        ("at_most", "upper", (None, 5e9)),
        ("approx", "approx", (5e9, 5e9)),
        ("planned", "exact", (5e9, 5e9)),
        ("planned more_than", "lower", (5e9, None)),
    ],
)
def test_bounds_stay_bounds(qualifier, bound, limits):
    quantity = Quantity(50, "亿元", qualifier)
    assert quantity.bound == bound
    assert quantity.limits() == limits
    assert quantity.base_value == 5e9 and quantity.base_unit == "CNY"


def test_printed_qualifiers_are_understood_as_their_controlled_terms():
    assert Quantity(50, "亿元", "超").bound == "lower"
    assert Quantity(2, "亿元", "拟 超").format() == "> 2 亿元"
    assert Quantity(25, "亿元", "预计 约").limits() == (25e8, 25e8)


def test_a_range_keeps_both_ends_and_needs_its_upper_end():
    assert Quantity(200, "家", "expected range", 300).limits() == (200, 300)
    with pytest.raises(ValueError, match="value_max"):
        Quantity(200, "家", "range")


def test_two_bounds_on_one_number_are_refused():
    with pytest.raises(ValueError, match="mixes bounds"):
        Quantity(1, "个", "more_than at_most")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((50, "亿元", "lower"), "≥ 50 亿元"),
        ((50, "亿元", "more_than"), "> 50 亿元"),
        ((25, "亿元", "approx"), "≈ 25 亿元"),
        ((12702, "辆"), "12,702 辆"),
        ((5.5, "%"), "5.5%"),
        ((104.86, "index points"), "104.86 points"),
        ((3, "count"), "3"),
    ],
)
def test_format_quantity_prints_bound_symbol_separators_and_unit(args, text):
    assert format_quantity(*args) == text


def test_format_quantity_prints_a_range_with_an_en_dash():
    assert Quantity(200, "家", "range", 300).format() == "200–300 家"


def test_format_cny_gives_the_chinese_magnitude_then_english():
    assert format_cny(5e9, "lower") == "≥ 50 亿元 (≥ CNY 5.0 bn)"
    assert format_cny(8e7) == "8,000 万元 (CNY 80.0 m)"
    assert format_cny(63242) == "63,242 元 (CNY 63,242)"


@pytest.mark.parametrize(
    ("token", "value"),
    [("12702", 12702), ("2338.16亿", 2.33816e11), ("1万", 1e4), ("二十", 20), ("六", 6),
     ("两", 2), ("亿", 1e8), ("万亿", 1e12), ("三千五百万", 3.5e7), ("一万零五", 10005)],
)
def test_parse_number_reads_arabic_magnitudes_and_chinese_numerals(token, value):
    assert math.isclose(parse_number(token), value)


def test_read_numbers_reads_value_and_unit_from_a_clause():
    (reading,) = read_numbers("投资超过50亿元")
    assert (reading.token, reading.unit) == ("50亿", "元")
    assert reads_back(reading, 50, "亿元")
    assert not reads_back(reading, 50, "万元")


def test_the_lower_end_of_a_range_borrows_the_unit_after_the_upper_end():
    readings = read_numbers("新增带动200—300家中小跨境电商企业")
    assert [(r.number, r.unit) for r in readings] == [(200, "家"), (300, "家")]


def test_a_bare_numeral_reads_back_only_as_an_unprinted_unit():
    (reading,) = read_numbers("“三攻坚”")
    assert reads_back(reading, 3, "count")
    assert not reads_back(reading, 3, "个")


def test_units_module_stays_free_of_plotting_and_execution_imports():
    import subprocess
    import sys

    code = "import sys, cqbook.dataset.units; print('matplotlib' in sys.modules, 'papermill' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
