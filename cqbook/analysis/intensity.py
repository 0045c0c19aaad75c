"""Investment intensity ("亩均论英雄"): money per unit of area, with the page's bounds kept.

Money and area are `Bounds` (cqbook.analysis.bounds): dividing two of them gives the bounds of
the ratio, never a point value the page does not support. Per 亩 uses units.MU_IN_M2, the one
place the factor lives.
"""

from __future__ import annotations

import pandas as pd

from cqbook.analysis.bounds import Bounds
from cqbook.dataset import units
from cqbook.dataset.package import quantity

__all__ = ["Bounds", "intensity_table", "per_mu"]


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

