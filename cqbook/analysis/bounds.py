"""What the page lets a chapter say about a number: `Bounds`, its two sides kept.

A figure printed as 超2亿元 is a lower bound, 超9万平方米 a lower bound on area and so an
upper bound on money per m². `Bounds` carries the two sides (None where the page leaves a side
open), whether each side is strict (超 is ">", 以上 is "≥") and whether the number is only
approximate (约); arithmetic on two of them gives the bounds of the result, never a point value
the page does not support. `headline_bound` is what `record()` writes beside the value
(`record(name, bounds)` takes a Bounds whole), so no chapter types a bound by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from cqbook.dataset import package, units
from cqbook.dataset.package import CountedList

_STRICT_TERMS = {"more_than", "less_than"}


@dataclass(frozen=True)
class Bounds:
    """What the page lets us say about a number: low <= x <= high (None: open side)."""

    low: float | None
    high: float | None
    low_strict: bool = False
    high_strict: bool = False
    approx: bool = False

    @classmethod
    def of_figure(cls, figure) -> Bounds:
        """From a row of cqbook.dataset.package.figures() (lower_base, upper_base, qualifier)."""
        terms = units.terms_of(figure["qualifier"])
        strict = bool(_STRICT_TERMS & set(terms))
        low = None if pd.isna(figure["lower_base"]) else float(figure["lower_base"])
        high = None if pd.isna(figure["upper_base"]) else float(figure["upper_base"])
        return cls(low, high, low_strict=strict and high is None,
                   high_strict=strict and low is None, approx=figure["bound"] == "approx")

    @classmethod
    def of_figure_id(cls, figure_id: str) -> Bounds:
        """The bounds of one figure of the data package, in its base unit (CNY, m², …)."""
        return cls.of_figure(package.figure(figure_id))

    @classmethod
    def of_headline(cls, value: float, bound: str) -> Bounds:
        """From a recorded headline value and its bound (cqbook.analysis.headlines.recorded)."""
        sides = {"exact": (value, value), "approx": (value, value), "lower": (value, None),
                 "at_least": (value, None), "more_than": (value, None),
                 "upper": (None, value), "at_most": (None, value), "less_than": (None, value)}
        if bound not in sides:
            raise ValueError(f"bound {bound!r} is not one of {sorted(sides)}")
        low, high = sides[bound]
        return cls(low, high, low_strict=bound == "more_than", high_strict=bound == "less_than",
                   approx=bound == "approx")

    @classmethod
    def exact(cls, value: float) -> Bounds:
        return cls(float(value), float(value))

    @classmethod
    def about(cls, value: float) -> Bounds:
        """A number known only approximately (约, or derived from an assumption): ≈."""
        return cls(value, value, approx=True)

    @classmethod
    def more_than(cls, value: float) -> Bounds:
        """A strict floor (超, 超过): >."""
        return cls(value, None, low_strict=True)

    @classmethod
    def at_least(cls, value: float) -> Bounds:
        """A floor the number may equal (以上): ≥."""
        return cls(value, None)

    @classmethod
    def at_most(cls, value: float) -> Bounds:
        """A ceiling the number may equal: ≤."""
        return cls(None, value)

    @classmethod
    def of_count(cls, counted: CountedList) -> Bounds:
        """The number of items of a printed list: exact, or a floor where it ends in 等."""
        return cls(counted.count, None) if counted.ends_with_deng else cls(counted.count,
                                                                            counted.count)

    def __truediv__(self, other: Bounds) -> Bounds:
        """Bounds of self / other, both positive."""
        for side in (other.low, other.high):
            if side is not None and side <= 0:
                raise ValueError("division by a quantity that may be zero or negative")
        low = None if self.low is None or other.high is None else self.low / other.high
        high = None if self.high is None or other.low is None else self.high / other.low
        return Bounds(low, high, self.low_strict or other.high_strict,
                      self.high_strict or other.low_strict, self.approx or other.approx)

    def __add__(self, other: Bounds) -> Bounds:
        low = None if self.low is None or other.low is None else self.low + other.low
        high = None if self.high is None or other.high is None else self.high + other.high
        return Bounds(low, high, self.low_strict or other.low_strict,
                      self.high_strict or other.high_strict, self.approx or other.approx)

    def __sub__(self, other: Bounds) -> Bounds:
        """Bounds of self - other: the floor of other bounds the result from above."""
        low = None if self.low is None or other.high is None else self.low - other.high
        high = None if self.high is None or other.low is None else self.high - other.low
        return Bounds(low, high, self.low_strict or other.high_strict,
                      self.high_strict or other.low_strict, self.approx or other.approx)

    def scaled(self, factor: float) -> Bounds:
        if factor <= 0:
            raise ValueError("scale by a positive factor only")
        return Bounds(None if self.low is None else self.low * factor,
                      None if self.high is None else self.high * factor,
                      self.low_strict, self.high_strict, self.approx)

    @property
    def kind(self) -> str:
        """'exact', 'approx', 'lower', 'upper', 'range' or 'unknown'."""
        if self.low is None and self.high is None:
            return "unknown"
        if self.low is None:
            return "upper"
        if self.high is None:
            return "lower"
        if math.isclose(self.low, self.high):
            return "approx" if self.approx else "exact"
        return "range"

    @property
    def value(self) -> float:
        """The one number that stands for the bounds: the known side, or the point value."""
        if self.kind in ("unknown", "range"):
            raise ValueError(f"{self.kind} bounds have no single value")
        return self.low if self.low is not None else self.high

    @property
    def headline_bound(self) -> str:
        """The `bound` for cqbook.analysis.headlines.record: ≥/> for a floor, ≤/< for a ceiling."""
        kind = self.kind
        if kind == "lower":
            return "more_than" if self.low_strict else "lower"
        if kind == "upper":
            return "less_than" if self.high_strict else "upper"
        if kind in ("exact", "approx"):
            return kind
        raise ValueError(f"{kind} bounds have no single headline value")

    def compare(self, benchmark: float) -> str:
        """'above', 'below' or 'undecided': what the bounds say against a benchmark."""
        if self.low is not None and (self.low > benchmark or
                                     (self.low == benchmark and self.low_strict)):
            return "above"
        if self.high is not None and (self.high < benchmark or
                                      (self.high == benchmark and self.high_strict)):
            return "below"
        return "undecided"
