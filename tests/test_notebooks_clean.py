"""Notebooks are stored for review: no outputs, no execution counts, stable ids, no
volatile metadata."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
ALLOWED_NOTEBOOK_METADATA = {"kernelspec", "language_info"}


def problems_of(notebook: dict) -> list[str]:
    found = []
    extra = set(notebook.get("metadata", {})) - ALLOWED_NOTEBOOK_METADATA
    if extra:
        found.append(f"volatile notebook metadata: {sorted(extra)}")
    for index, cell in enumerate(notebook["cells"]):
        if "id" not in cell:
            found.append(f"cell {index} has no id (ids would be random on every read)")
        if cell["cell_type"] == "code":
            if cell.get("outputs"):
                found.append(f"cell {index} has outputs")
            if cell.get("execution_count") is not None:
                found.append(f"cell {index} has an execution count")
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            if key in cell.get("metadata", {}):
                found.append(f"cell {index} has volatile metadata `{key}`")
    return found


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean(path):
    problems = problems_of(json.loads(path.read_text(encoding="utf-8")))
    assert not problems, (f"{path.name}: {'; '.join(problems)}. "
                          "Run `pre-commit run --all-files` (nbstripout) and commit.")


def test_a_dirty_notebook_is_caught():
    dirty = {"metadata": {"kernelspec": {}, "papermill": {"duration": 1.2}},
             "cells": [{"cell_type": "code", "id": "a", "metadata": {"execution": {}},
                        "execution_count": 3, "outputs": [{"output_type": "stream"}],
                        "source": "1"},
                       {"cell_type": "markdown", "metadata": {}, "source": "x"}]}
    assert problems_of(dirty) == [
        "volatile notebook metadata: ['papermill']", "cell 0 has outputs",
        "cell 0 has an execution count", "cell 0 has volatile metadata `execution`",
        "cell 1 has no id (ids would be random on every read)"]
