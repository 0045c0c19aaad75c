"""Days in operation, average rates and projections from one cumulative figure."""

from datetime import date

import pytest

from cqbook.analysis.projections import (
    DAYS_PER_MONTH,
    as_date,
    average_rates,
    days_ahead,
    days_in_operation,
    project_total,
)


def test_inclusive_count_includes_both_the_first_and_the_last_day():
    assert days_in_operation("2023-04-28", "2023-10-11", inclusive=True) == 167
    assert days_in_operation("2023-04-28", "2023-10-11", inclusive=False) == 166


def test_one_day_of_operation_is_one_day_inclusive_and_zero_days_exclusive():
    assert days_in_operation("2023-04-28", "2023-04-28", inclusive=True) == 1
    assert days_in_operation("2023-04-28", "2023-04-28", inclusive=False) == 0


def test_as_of_before_start_is_refused():
    with pytest.raises(ValueError, match="before the start date"):
        days_in_operation("2023-10-11", "2023-04-28", inclusive=True)


def test_rates_scale_by_seven_days_a_week_and_the_mean_month():
    rates = average_rates(12702, 167)
    assert rates.per_day == pytest.approx(76.0599, rel=1e-5)
    assert rates.per_week == pytest.approx(rates.per_day * 7)
    assert rates.per_month == pytest.approx(rates.per_day * 30.4375)
    assert DAYS_PER_MONTH == pytest.approx(30.4375)


def test_averaging_over_no_day_is_refused():
    with pytest.raises(ValueError, match="at least one day"):
        average_rates(100, 0)


def test_doubling_the_total_doubles_every_rate():
    single, double = average_rates(12702, 167), average_rates(2 * 12702, 167)
    assert double.per_day == pytest.approx(2 * single.per_day)
    assert double.per_month == pytest.approx(2 * single.per_month)


def test_projection_counts_the_days_after_the_count_up_to_the_end():
    assert days_ahead("2023-10-11", "2023-12-31") == 81
    assert project_total(1000, 10, "2023-10-11", "2023-10-21", 0.0) == pytest.approx(1100)
    assert project_total(1000, 10, "2023-10-11", "2023-10-21", -0.2) == pytest.approx(1080)
    assert project_total(1000, 10, "2023-10-11", "2023-10-21", 0.2) == pytest.approx(1120)


def test_projection_end_on_or_before_the_count_is_refused():
    with pytest.raises(ValueError, match="not after"):
        days_ahead("2023-10-11", "2023-10-11")


def test_rate_change_of_minus_100_percent_or_less_is_refused():
    with pytest.raises(ValueError, match="no positive rate"):
        project_total(1000, 10, "2023-10-11", "2023-10-21", -1.0)


def test_dates_are_read_from_iso_text_or_taken_as_they_are():
    assert as_date("2023-10-11") == date(2023, 10, 11)
    assert as_date(date(2023, 10, 11)) == date(2023, 10, 11)
