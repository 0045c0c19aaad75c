"""Notebooks are stored for review: as MyST Markdown text only (jupytext), so that a change to
a cell is a plain line diff, and read back by the pipeline exactly as jupytext reads them."""

from __future__ import annotations

import pytest
from conftest import REPO

from cqbook.build.notebook_files import read_cells_quickly, read_notebook

NOTEBOOK_DIR = REPO / "notebooks"
TEXT_NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.md"))


def test_chapters_are_committed_as_text_notebooks_only():
    assert len(TEXT_NOTEBOOKS) >= 6
    json_notebooks = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
    assert not json_notebooks, (f"{json_notebooks}: commit the text form instead "
                                "(`jupytext --to myst notebooks/NAME.ipynb`, then remove it)")


@pytest.mark.parametrize("path", TEXT_NOTEBOOKS, ids=[p.stem for p in TEXT_NOTEBOOKS])
def test_quick_reading_agrees_with_jupytext(path):
    """The no-op build reads parameter declarations without jupytext; it must see the same
    code cells, sources and tags as the executed notebook will."""
    notebook = read_notebook(path)
    code = [{"cell_type": "code", "source": c.source, "tags": c.metadata.get("tags", [])}
            for c in notebook.cells if c.cell_type == "code"]
    assert read_cells_quickly(path) == code
    assert sum("parameters" in c["tags"] for c in code) == 1


@pytest.mark.parametrize("path", TEXT_NOTEBOOKS, ids=[p.stem for p in TEXT_NOTEBOOKS])
def test_text_notebook_reads_with_stable_ids_and_no_outputs(path):
    first, second = read_notebook(path), read_notebook(path)
    ids = [cell.id for cell in first.cells]
    assert ids == [cell.id for cell in second.cells] and len(set(ids)) == len(ids)
    assert set(first.metadata) == {"kernelspec", "language_info"}
    assert all(not c.get("outputs") for c in first.cells if c.cell_type == "code")
