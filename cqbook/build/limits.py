"""How much output an executed notebook may hold, checked before it is cached or published.

A chapter's notebook holds about 1 MB (its SVG charts); a cell printing in a loop can write
hundreds of megabytes, which Sphinx would then turn into a page nobody can open, minutes
later. Past these limits the executed notebook is refused, deleted (it is the problem, not a
record of one) and the cell named.
"""

from __future__ import annotations

import json
from pathlib import Path

MAX_CELL_OUTPUT_BYTES = 10_000_000
MAX_NOTEBOOK_BYTES = 50_000_000


def check_outputs(executed: Path, notebook_name: str) -> None:
    """Raise ExecutionFailure naming the cell whose outputs pass MAX_CELL_OUTPUT_BYTES, or
    the notebook if it passes MAX_NOTEBOOK_BYTES; the file is deleted first. A notebook
    smaller than one cell's limit is not opened at all (the common case costs one stat)."""
    from cqbook.build.execution import ExecutionFailure

    executed = Path(executed)
    size = executed.stat().st_size
    if size <= MAX_CELL_OUTPUT_BYTES:
        return
    cells = _source_cells(json.loads(executed.read_text(encoding="utf-8"))["cells"])
    sizes = [len(json.dumps(cell.get("outputs", []), ensure_ascii=False).encode())
             for cell in cells]
    largest = max(range(len(cells)), key=sizes.__getitem__, default=None)
    if largest is None:
        return
    if sizes[largest] > MAX_CELL_OUTPUT_BYTES:
        why = (f"its output of {_megabytes(sizes[largest])} is more than the limit of "
               f"{_megabytes(MAX_CELL_OUTPUT_BYTES)} per cell")
    elif size > MAX_NOTEBOOK_BYTES:
        why = (f"the executed notebook of {_megabytes(size)} (this cell's output: "
               f"{_megabytes(sizes[largest])}) is more than the limit of "
               f"{_megabytes(MAX_NOTEBOOK_BYTES)} per notebook")
    else:
        return
    executed.unlink()
    source = "".join(cells[largest]["source"]).strip().splitlines()
    raise ExecutionFailure(notebook_name, largest, source[0] if source else "",
                           f"{why}; the executed notebook was deleted")


def _source_cells(cells: list[dict]) -> list[dict]:
    """The cells of the source notebook: without papermill's parameters cell, so that the
    index is the one a reader counts in the notebook file."""
    from cqbook.build.execution import INJECTED_TAG

    return [c for c in cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"
