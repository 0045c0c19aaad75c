"""Counts over time from one cumulative figure: days in operation, average rates, projections.

A page that prints one running total ("已发运汽车12702辆" since a start date) gives two
observed points: nothing at the start, the total on the day of the count. Everything between
them is an average and everything after a projection; these functions compute both and say
which days they count, so that a chapter can state its counting rule once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DAYS_PER_WEEK = 7
# The mean Gregorian month (365.25 / 12 days): a "month" of the averages below, not a
# calendar month.
DAYS_PER_MONTH = 365.25 / 12


def as_date(value: str | date) -> date:
    """A date from an ISO string ("2023-10-11") or a date."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def day_text(day: str | date) -> str:
    """A day as the prose writes it: '28 April 2023'."""
    day = as_date(day)
    return f"{day.day} {day:%B %Y}"


def days_in_operation(start: str | date, as_of: str | date, inclusive: bool) -> int:
    """Days from `start` to `as_of`. Inclusive counts both the first and the last day
    (28 April to 11 October 2023: 167 days); otherwise the difference of the dates (166)."""
    start, as_of = as_date(start), as_date(as_of)
    if as_of < start:
        raise ValueError(f"the as-of date {as_of} is before the start date {start}")
    return (as_of - start).days + (1 if inclusive else 0)


@dataclass(frozen=True)
class Rates:
    per_day: float
    per_week: float
    per_month: float


def average_rates(total: float, days: int) -> Rates:
    """The constant rates that would give `total` over `days` days."""
    if days <= 0:
        raise ValueError(f"need at least one day to average over, got {days}")
    per_day = total / days
    return Rates(per_day, per_day * DAYS_PER_WEEK, per_day * DAYS_PER_MONTH)


def days_ahead(as_of: str | date, end: str | date) -> int:
    """Days after the day of the count, up to and including `end`."""
    as_of, end = as_date(as_of), as_date(end)
    if end <= as_of:
        raise ValueError(f"the projection end {end} is not after the as-of date {as_of}")
    return (end - as_of).days


def project_total(total: float, per_day: float, as_of: str | date, end: str | date,
                  rate_change: float) -> float:
    """The running total on `end` if the daily rate changes by `rate_change` (a fraction:
    -0.2 is 20 % slower) from the day after the count."""
    if rate_change <= -1:
        raise ValueError(f"a rate change of {rate_change:+.0%} leaves no positive rate")
    return total + per_day * (1 + rate_change) * days_ahead(as_of, end)
