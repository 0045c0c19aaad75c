"""Headline values: the key results a notebook records for the prose and for the build.

In a notebook, `record("vehicles_per_day", 59.1, unit="辆/日")` glues the value under its name
(for ``{glue:text}`` in any page) and its formatted text under `<name>_text` (bounds shown as
≥, ≈ …), and tags the glue output with the unit and the bound so that the pipeline can
collect every notebook's headline values from the executed notebook alone.
"""

from __future__ import annotations

import json
import math
from typing import Any

METADATA_KEY = "cqbook_headline"
BOUND_SIGNS = {"exact": "", "approx": "≈ ", "lower": "≥ ", "upper": "≤ ",
               "more_than": "> ", "less_than": "< "}


def _plain(value: Any) -> Any:
    """A JSON- and glue-friendly scalar: NumPy numbers print nothing under a format spec
    (MyST-NB #610), so they become Python numbers here."""
    return value.item() if hasattr(value, "item") else value


def format_value(value: Any, unit: str = "", bound: str = "exact", digits: int | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = str(value)
    else:
        if digits is None:
            digits = 0 if float(value).is_integer() else (1 if abs(value) >= 10 else 2)
        text = f"{value:,.{digits}f}"
    sign = BOUND_SIGNS[bound]
    return f"{sign}{text}{(' ' + unit) if unit and unit != '%' else unit}"


def record(name: str, value: Any, unit: str = "", bound: str = "exact", label: str = "",
           digits: int | None = None) -> Any:
    """Glue `value` (and its text form) under `name`, tagged as a headline value."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display
    from myst_nb.ext.glue import GLUE_PREFIX, glue

    if bound not in BOUND_SIGNS:
        raise ValueError(f"bound {bound!r} is not one of {sorted(BOUND_SIGNS)}")
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"headline {name!r} is not a finite number: {value}")
    text = format_value(value, unit, bound, digits)
    # Same output as myst_nb.glue(name, value, display=False), plus our metadata.
    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    metadata[METADATA_KEY] = {"name": name, "value": value, "unit": unit, "bound": bound,
                              "label": label, "text": text}
    display({GLUE_PREFIX + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    glue(f"{name}_text", text, display=False)
    return value


def collect(notebook) -> list[dict[str, Any]]:
    """The headline values recorded in an executed notebook, in the order recorded."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            entry = output.get("metadata", {}).get(METADATA_KEY)
            if entry:
                found.append(json.loads(json.dumps(entry)))
    return found
