"""The "Also on this page" chapter: 2021 values and the implied population follow the growth
rates and the assumed price change as the chapter says; bad values never start a kernel."""

import chapter_runs as chapter
import pytest
from chapter_runs import assert_refused_before_kernel

CHANGED = {"gdp_growth_pct": "10", "price_change_pct": "2", "growth_rounding_pct": "0"}


runs = chapter.runs_fixture("also_on_this_page", {"default": {}, "changed": CHANGED})
default_run = chapter.headlines_fixture("default")
changed_run = chapter.headlines_fixture("changed")


def value(run, name):
    return run[name]["value"]


@pytest.mark.slow
def test_an_overall_index_below_its_strength_index_puts_the_other_dimensions_lower(default_run):
    others = default_run["also_wky_other_dimensions_mean"]
    assert others["value"] == pytest.approx((7 * 104.86 - 105.04) / 6)
    assert others["value"] < 104.86 and others["bound"] == "approx"
    assert "ASSUMPTION" in others["label"]
    assert value(default_run, "also_wky_strength_change_pct") == pytest.approx(
        100 * 1.52 / (105.04 - 1.52))


@pytest.mark.slow
def test_people_in_wan_are_also_given_in_people(default_run):
    assert default_run["also_wky_people_2022"]["text"] == "≈ 369.7 万人 (≈ 3.7 million people)"


def test_the_dimensions_are_counted_not_all_named():

    prose = chapter.prose("also_on_this_page")
    assert "7 dimensions are named" not in prose
    assert "7 dimensions are counted but only two are named" in prose


@pytest.mark.slow
def test_defaults_derive_2021_and_the_population_from_the_page(default_run):
    assert value(default_run, "also_wky_strength_index_2021") == pytest.approx(105.04 - 1.52)
    assert value(default_run, "also_wky_gdp_2021") == pytest.approx(2338.16 / 1.055)
    assert value(default_run, "also_wky_gdp_per_head_2021") == pytest.approx(63242 / 1.056)
    assert value(default_run, "also_wky_people_2022") == pytest.approx(2338.16e8 / 63242 / 1e4)
    assert value(default_run, "also_wky_people_change") == pytest.approx(
        100 * (1.055 / 1.056 - 1))
    low, high = (value(default_run, f"also_wky_people_2021_{s}") for s in ("low", "high"))
    assert low <= value(default_run, "also_wky_people_2021") <= high
    assert default_run["also_wky_gdp_2021"]["bound"] == "approx"
    assert [value(default_run, f"also_pilot_{k}") for k in ("markets", "districts", "brands")] \
        == [3, 5, 7]
    assert value(default_run, "also_campaigns") == 3


@pytest.mark.slow
def test_growth_and_prices_move_2021_but_prices_cancel_out_of_the_population(default_run,
                                                                            changed_run):
    assert value(changed_run, "also_wky_gdp_2021") == pytest.approx(2338.16 / 1.10 / 1.02)
    assert value(changed_run, "also_wky_gdp_per_head_2021") == pytest.approx(63242 / 1.056 / 1.02)
    # The price change divides GDP and GDP per head alike: only the growth rates move people.
    assert value(changed_run, "also_wky_people_2021") == pytest.approx(
        2338.16e8 / 63242 * 1.056 / 1.10 / 1e4)
    assert value(changed_run, "also_wky_people_2022") == value(default_run,
                                                               "also_wky_people_2022")
    assert value(changed_run, "also_wky_people_change") > 0  # GDP now grew faster per head
    assert (value(changed_run, "also_wky_people_2021_low")
            == pytest.approx(value(changed_run, "also_wky_people_2021_high")))
    assert value(changed_run, "also_wky_strength_index_2021") == value(
        default_run, "also_wky_strength_index_2021")


@pytest.mark.parametrize("name, value, rule", [
    ("gdp_growth_pct", "-50", "> -50"),
    ("gdp_per_head_growth_pct", "nan", "NaN"),
    ("price_change_pct", "25", "<= 20"),
    ("growth_rounding_pct", "-0.1", ">= 0"),
    ("population", "3", "unknown|no parameter"),
])
def test_bad_parameters_are_refused_before_any_kernel_starts(name, value, rule, monkeypatch):
    assert_refused_before_kernel("also_on_this_page", name, value, rule, monkeypatch)
