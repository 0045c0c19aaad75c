"""Headline values: the key results a notebook records for the prose and for the build.

In a notebook, `record("vehicles_per_day", 59.1, unit="辆/日")` glues the value under its name
(for ``{glue:text}`` in any page) and its formatted text under `<name>_text` (bounds shown as
≥, ≈ …), and tags the glue output with the unit and the bound so that the pipeline can
collect every notebook's headline values from the executed notebook alone. A value known only
within bounds is given as its `Bounds` (`record(name, Bounds.more_than(50), ...)`), which
carries its own bound; a text for the prose alone (a run note, a list as printed) is recorded
with `headline=False`. Chapters glue through `record` only.

`recorded(notebook, name)` reads back what another chapter recorded, so a chapter that
compares never recomputes. In a build the pipeline runs that chapter first and hands over its
values of the same build (the file `CQBOOK_RECORDED` names); run on its own (nbval, `cqbook
run`), a notebook reads them as the book last committed them (results/headline_values.csv).
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Any

from cqbook.analysis.bounds import Bounds
from cqbook.dataset.units import SYMBOL, format_bilingual
from cqbook.paths import REPO_ROOT

# The headline values of the book as last built (cqbook/build/results.py writes them).
RESULTS_CSV = REPO_ROOT / "results" / "headline_values.csv"
RECORDED_VARIABLE = "CQBOOK_RECORDED"  # cqbook.build.pipeline sets it

METADATA_KEY = "cqbook_headline"
# English count units of the headline values, and their singular: a value of exactly 1 is
# "1 project", not "1 projects".
SINGULAR = {
    "projects": "project", "projects signed": "project signed", "fields": "field",
    "firms": "firm", "stages": "stage", "days": "day", "vehicles": "vehicle",
    "vehicles a day": "vehicle a day", "vehicles a week": "vehicle a week",
    "vehicles a month": "vehicle a month", "trains": "train", "countries": "country",
    "named projects": "named project", "articles": "article", "themes": "theme",
    "focuses": "focus", "measures": "measure", "programmes": "programme",
    "mechanisms": "mechanism", "campaigns": "campaign", "brands": "brand",
    "districts": "district", "markets": "market", "items": "item",
}
# myst_nb.ext.glue.GLUE_PREFIX. The glue output is written here rather than by
# myst_nb.glue(): importing myst_nb pulls in Sphinx and costs every kernel seconds.
# tests/analysis/test_headlines.py checks that myst-nb reads what we write.
GLUE_PREFIX = "application/papermill.record/"


def _plain(value: Any) -> Any:
    """A JSON- and glue-friendly scalar: NumPy numbers print nothing under a format spec
    (MyST-NB #610), so they become Python numbers here."""
    return value.item() if hasattr(value, "item") else value


def record(name: str, value: Any, unit: str = "", bound: str = "exact", label: str = "",
           digits: int | None = None, text: str | None = None, headline: bool = True) -> Any:
    """Glue `value` under `name` and its text under `<name>_text`, tagged as a headline
    value. The text is the package's one number format (units.format_bilingual: a Chinese
    magnitude followed by its English) unless given; an English count unit of SINGULAR
    is singular for a value of 1. A `Bounds` value gives its number and its bound.
    `headline=False`: `value` is a text for the prose, glued under `name` alone and kept
    out of the headline values."""
    if not headline:
        if not isinstance(value, str):
            raise TypeError(f"{name!r}: only a text is recorded for the prose alone, not "
                            f"{type(value).__name__}")
        _glue(name, value, {})
        return value
    if isinstance(value, Bounds):
        value, bound = value.value, value.headline_bound
    if bound not in SYMBOL:
        raise ValueError(f"bound {bound!r} is not one of {sorted(SYMBOL)}")
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"headline {name!r} is not a finite number: {value}")
    if text is None:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        shown_unit = SINGULAR.get(unit, unit) if numeric and value == 1 else unit
        text = format_bilingual(value, shown_unit, bound, digits) if numeric else str(value)
    headline = {"name": name, "value": value, "unit": unit, "bound": bound, "label": label,
                "text": text}
    _glue(name, value, {METADATA_KEY: headline})
    _glue(f"{name}_text", text, {})
    return value


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """'1 project', '23 projects': a count with its noun in the number the count asks for."""
    noun = singular if number == 1 else (plural or singular + "s")
    return f"{number:,} {noun}"


def _recorded_row(notebook: str, name: str) -> dict[str, str]:
    handed_over = os.environ.get(RECORDED_VARIABLE)
    if handed_over:
        with open(handed_over, encoding="utf-8") as handle:
            rows, where = json.load(handle).get(notebook, []), "this build"
    else:
        with open(RESULTS_CSV, encoding="utf-8", newline="") as handle:
            rows, where = list(csv.DictReader(handle)), RESULTS_CSV.name
    for row in rows:
        if (row["notebook"], row["kind"], row["name"]) == (notebook, "headline", name):
            return row
    raise KeyError(f"{where}: {notebook} records no headline value {name!r}")


def recorded(notebook: str, name: str) -> Any:
    """The value `notebook` recorded as `name`, as results/headline_values.csv holds it (to
    12 significant digits); KeyError naming both if it recorded none."""
    return json.loads(_recorded_row(notebook, name)["value"])


def recorded_bounds(notebook: str, name: str) -> Bounds:
    """A recorded value with the bound it was recorded with."""
    row = _recorded_row(notebook, name)
    return Bounds.of_headline(json.loads(row["value"]), row["bound"])


def _glue(name: str, value: Any, extra_metadata: dict) -> None:
    """What myst_nb.glue(name, value, display=False) displays, plus our metadata."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    metadata.update(extra_metadata)
    display({GLUE_PREFIX + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def collect(notebook) -> list[dict[str, Any]]:
    """The headline values recorded in an executed notebook, in the order recorded."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            entry = output.get("metadata", {}).get(METADATA_KEY)
            if entry:
                found.append(json.loads(json.dumps(entry)))
    return found
