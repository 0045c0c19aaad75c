"""Investment intensity ("亩均论英雄"): money per unit of area, with the page's bounds kept.

A figure printed as 超2亿元 is a lower bound, 超9万平方米 a lower bound on area and so an
upper bound on money per m². `Bounds` carries the two sides (None where the page leaves a side
open), whether each side is strict (超 is ">", 以上 is "≥") and whether the number is only
approximate (约); dividing two of them gives the bounds of the ratio, never a point value the
page does not support. Per 亩 uses units.MU_IN_M2, the one place the factor lives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from cqbook.dataset import units
from cqbook.dataset.package import quantity

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
    def exact(cls, value: float) -> Bounds:
        return cls(float(value), float(value))

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


def per_mu(per_m2: Bounds) -> Bounds:
    """CNY per m² -> CNY per 亩."""
    return per_m2.scaled(units.MU_IN_M2)


def intensity_table(figures: pd.DataFrame, entities: pd.DataFrame,
                    entity_ids: list[str]) -> pd.DataFrame:
    """One row per project (entities with an investment figure and an area figure): the
    investment and area as printed, which area it is (floor space or land), and the bounds of
    CNY per m² and per 亩. Rows in the order of `entity_ids`."""
    by_figure = figures.set_index("figure_id", drop=False)
    by_entity = entities.set_index("entity_id", drop=False)
    rows = []
    for entity_id in entity_ids:
        if entity_id not in by_entity.index:
            raise KeyError(f"no entity {entity_id!r}")
        entity = by_entity.loc[entity_id]
        area_column = next((c for c in ("floor_area_figure_id", "land_area_figure_id")
                            if entity[c]), None)
        if not entity["investment_figure_id"] or area_column is None:
            raise ValueError(f"{entity_id!r} has no investment and area figures to divide")
        money = by_figure.loc[entity["investment_figure_id"]]
        area = by_figure.loc[entity[area_column]]
        per_m2 = Bounds.of_figure(money) / Bounds.of_figure(area)
        rows.append({
            "entity_id": entity_id, "name_zh": entity["name_zh"],
            "investment_quote": money["quote"], "area_quote": area["quote"],
            "investment": quantity(money).format(), "area": quantity(area).format(),
            "area_kind": "floor" if area_column == "floor_area_figure_id" else "land",
            "per_m2": per_m2, "per_mu": per_mu(per_m2), "kind": per_m2.kind,
        })
    return pd.DataFrame(rows)

