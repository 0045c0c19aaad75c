"""Investment intensity keeps the page's bounds: a floor stays a floor, a ceiling a ceiling."""

import math

import pytest

from cqbook.analysis import intensity
from cqbook.analysis.intensity import Bounds
from cqbook.dataset import package, units


def figure(figure_id):
    return package.figure(figure_id)


def test_more_than_money_on_exact_area_is_a_strict_floor():
    per_m2 = (Bounds.of_figure(figure("zizhike_additional_investment"))
              / Bounds.of_figure(figure("zizhike_factory_floor_area")))
    assert per_m2.kind == "lower" and per_m2.high is None
    assert per_m2.low == pytest.approx(2e8 / 3700)
    assert per_m2.headline_bound == "more_than"


def test_exact_money_on_more_than_area_is_a_strict_ceiling():
    per_m2 = (Bounds.of_figure(figure("banan_reuse_contract_investment"))
              / Bounds.of_figure(figure("banan_reuse_floor_area")))
    assert per_m2.kind == "upper" and per_m2.low is None
    assert per_m2.high == pytest.approx(54e8 / 9e4)
    assert per_m2.headline_bound == "less_than"


def test_approximate_area_gives_an_approximate_intensity():
    per_m2 = (Bounds.of_figure(figure("lingchuang_additional_investment"))
              / Bounds.of_figure(figure("lingchuang_base_land_area")))
    assert per_m2.kind == "approx" and per_m2.headline_bound == "approx"
    assert per_m2.value == pytest.approx(30e8 / (150 * units.MU_IN_M2))


def test_per_mu_uses_the_units_factor():
    per_m2 = Bounds.exact(20000.0)
    assert intensity.per_mu(per_m2).value == pytest.approx(20000.0 * units.MU_IN_M2)
    assert intensity.per_mu(Bounds(None, 10.0, high_strict=True)).headline_bound == "less_than"


def test_open_sides_stay_open_when_dividing():
    assert (Bounds(None, 5.0) / Bounds(1.0, None)).kind == "upper"
    assert (Bounds(5.0, None) / Bounds(None, 2.0)).kind == "lower"
    assert (Bounds(5.0, None) / Bounds(1.0, None)).kind == "unknown"


def test_sum_of_a_floor_and_an_exact_value_is_a_floor():
    total = Bounds(2.0, None, low_strict=True) + Bounds.exact(3.0)
    assert total.kind == "lower" and total.low == 5.0 and total.low_strict


def test_division_by_a_possibly_zero_area_is_refused():
    with pytest.raises(ValueError):
        _ = Bounds.exact(1.0) / Bounds(0.0, 1.0)


def test_compare_decides_only_when_the_bounds_do():
    assert Bounds(5.0, None).compare(4.0) == "above"
    assert Bounds(5.0, None).compare(6.0) == "undecided"
    assert Bounds(None, 5.0, high_strict=True).compare(5.0) == "below"
    assert Bounds.exact(5.0).compare(5.0) == "undecided"


def test_a_range_has_no_single_headline_value():
    with pytest.raises(ValueError):
        _ = Bounds(1.0, 2.0).headline_bound


def test_intensity_table_rows_follow_the_requested_order():
    table = intensity.intensity_table(package.figures(), package.load_table("entities"),
                                      ["heshun_centre", "lingchuang_base", "zizhike_radar"])
    assert list(table["entity_id"]) == ["heshun_centre", "lingchuang_base", "zizhike_radar"]
    assert list(table["area_kind"]) == ["floor", "land", "floor"]
    assert list(table["kind"]) == ["exact", "approx", "lower"]
    assert math.isclose(table.loc[0, "per_m2"].value, 2e8 / 1e4)


def test_intensity_table_refuses_a_project_without_an_area():
    with pytest.raises(ValueError):
        intensity.intensity_table(package.figures(), package.load_table("entities"), ["maoqiao_centre"])
