"""What a build commits for review: the headline values and a content hash per chart.

Both are small, sorted CSV files in `results/`, so a pull request that changes a number or a
chart shows it as a one-line text diff.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from cqbook.paths import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results"
HEADLINES_CSV = RESULTS_DIR / "headline_values.csv"
FIGURES_CSV = RESULTS_DIR / "figure_hashes.csv"
# One row per headline value, and one per parameter the notebook ran with: a changed
# parameter is then one changed line, and only the values it moves change beside it.
HEADLINE_COLUMNS = ["notebook", "kind", "name", "value", "unit", "bound", "text", "label"]
FIGURE_COLUMNS = ["notebook", "figure", "format", "sha256"]
IMAGE_FORMATS = ("image/svg+xml", "image/png")
REFRESH_COMMAND = "make book"
# Floats are written to this many significant digits: the last bits of a float differ
# between machines and libraries, and would otherwise show as a change on every review.
SIGNIFICANT_DIGITS = 12


def value_text(value: Any) -> str:
    """A value as JSON; a float rounded to SIGNIFICANT_DIGITS, still read back as a float."""
    if isinstance(value, float) and math.isfinite(value):
        text = format(value, f".{SIGNIFICANT_DIGITS}g")
        return text if any(c in text for c in ".e") else text + ".0"
    return json.dumps(value, ensure_ascii=False)


def headline_rows(notebook: str, headlines: list[dict], parameters: dict) -> list[dict]:
    values = [{"notebook": notebook, "kind": "headline", "name": h["name"],
               "value": value_text(h["value"]), "unit": h["unit"],
               "bound": h["bound"], "text": h["text"], "label": h["label"]} for h in headlines]
    ran_with = [{"notebook": notebook, "kind": "parameter", "name": name,
                 "value": value_text(value), "unit": "", "bound": "",
                 "text": json.dumps(value, ensure_ascii=False), "label": ""}
                for name, value in parameters.items()]
    return values + ran_with


class FigureOutput(NamedTuple):
    figure: str
    format: str  # svg | png
    content: str  # the SVG text, or the PNG as base64 (as the notebook stores it)
    caption: str
    alt: str


def figure_outputs(notebook) -> Iterator[FigureOutput]:
    """Every image output. A figure is named by its cell's figure name, else its stable
    cell id; `#N` tells apart several images of one cell. The review page finds a chart's old
    and new image by this name."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        options = cell.metadata.get("mystnb", {})
        figure_name = options.get("figure", {}).get("name") or cell.get("id", "")
        images = [o for o in cell.get("outputs", []) for f in IMAGE_FORMATS
                  if f in o.get("data", {})]
        for number, output in enumerate(images):
            kind = next(f for f in IMAGE_FORMATS if f in output["data"])
            content = output["data"][kind]
            content = "".join(content) if isinstance(content, list) else content
            yield FigureOutput(figure_name + (f"#{number}" if len(images) > 1 else ""),
                               kind.split("/")[1].split("+")[0], content,
                               options.get("figure", {}).get("caption", ""),
                               options.get("image", {}).get("alt", ""))


def figure_rows(notebook_name: str, notebook) -> list[dict]:
    """One row per image output, with the hash of its content."""
    return [{"notebook": notebook_name, "figure": output.figure, "format": output.format,
             "sha256": content_hash(output.content)} for output in figure_outputs(notebook)]


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def to_csv(rows: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda row: [row[c] for c in columns]))
    return buffer.getvalue()


def write_if_changed(path: Path, text: str) -> bool:
    """Write only a real change, so an unchanged build leaves the file (and git) alone."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def read_csv_text(text: str) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(text))) if text.strip() else []
