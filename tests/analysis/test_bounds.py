"""Bounds: what the page lets a chapter say about a number, carried through arithmetic and
into a headline's bound, so that no chapter types a bound by hand."""

from __future__ import annotations

import pytest

from cqbook.analysis.bounds import Bounds
from cqbook.dataset import package


def test_a_strict_floor_less_a_total_is_a_strict_ceiling():
    total, parts = Bounds.exact(206.0), Bounds.more_than(50.0)
    rest = total - parts
    assert (rest.low, rest.high, rest.high_strict) == (None, 156.0, True)
    assert rest.headline_bound == "less_than"
    assert (rest / Bounds.exact(23)).value == pytest.approx(156 / 23)


def test_a_share_of_a_strict_floor_stays_a_strict_floor():
    share = (Bounds.more_than(50.0) / Bounds.exact(206.0)).scaled(100)
    assert share.value == 50.0 / 206.0 * 100  # the same float as the sum by hand
    assert share.headline_bound == "more_than"


@pytest.mark.parametrize("bounds, expected", [
    (Bounds.about(3.5), "approx"), (Bounds.at_least(4), "lower"),
    (Bounds.more_than(4), "more_than"), (Bounds.at_most(4), "upper"),
    (Bounds(None, 4, high_strict=True), "less_than"), (Bounds.exact(4), "exact"),
])
def test_each_kind_of_bound_gives_its_headline_label(bounds, expected):
    assert bounds.headline_bound == expected
    assert Bounds.of_headline(bounds.value, expected).headline_bound == expected


def test_a_list_ending_in_deng_counts_as_a_floor_and_keeps_an_integer():
    open_list = package.counted_list("tongliang_storage_firms")
    closed = package.counted_list("tongliang_value_chain")
    assert Bounds.of_count(open_list).headline_bound == "lower"
    assert Bounds.of_count(closed).headline_bound == "exact"
    assert Bounds.of_count(open_list).value == 5 and isinstance(Bounds.of_count(closed).value, int)


def test_a_figure_id_gives_the_figures_own_bounds():
    parts = Bounds.of_figure_id("tongliang_vehicle_parts_investment")  # 超过50亿元
    assert (parts.low, parts.high, parts.low_strict) == (5e9, None, True)


def test_an_unknown_recorded_bound_is_refused():
    with pytest.raises(ValueError, match="bound 'roughly'"):
        Bounds.of_headline(1.0, "roughly")
