"""Tables a chapter shows: the page's figures as printed, each linked to its clause.

`sourced_table` (cqbook.analysis.links) escapes every value and turns a `source` column of
figure ids into links to the sources page; `figures_table` builds the one table of figures every
chapter shows in its "what the page says".
"""

from __future__ import annotations

import pandas as pd

from cqbook.analysis.links import sourced_table
from cqbook.dataset import package


def figures_table(figure_ids: list[str]):
    """The figures, in the order given: what each measures, its value as printed (qualifier
    kept: ≥, >, ≈) and its quote, with a link to the clause on the sources page."""
    figures = package.figures().set_index("figure_id", drop=False).loc[list(figure_ids)]
    return sourced_table(pd.DataFrame({
        "measure": figures["measure"].tolist(),
        "value as printed": [package.quantity(f).format() for f in figures.to_dict("records")],
        "quote": figures["quote"].tolist(),
        "source": list(figure_ids),
    }))


def article_figure_ids(article_id: str) -> list[str]:
    """The ids of an article's figures, sorted."""
    figures = package.load_table("figures")
    return sorted(figures.loc[figures["article_id"] == article_id, "figure_id"])
