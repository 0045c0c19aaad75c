"""nbval over the committed text notebooks (`notebooks/*.md`): every code cell of every
chapter runs (`--nbval-lax`), as for a `.ipynb`.

A pytest plugin, loaded by `-p cqbook.build.nbval_text` (pyproject.toml), not a conftest.py in
notebooks/: the tests import their fixtures as `conftest`, and a second module of that name
would take its place.
"""

from __future__ import annotations

from unittest import mock

import nbval.plugin

from cqbook.build.notebook_files import TEXT_SUFFIX, read_notebook


class TextNotebookFile(nbval.plugin.IPyNbFile):
    """nbval's collector, handed the notebook jupytext reads. nbval 0.11.0 (pinned) reads
    the file in one place, `nbformat.read` at the top of `IPyNbFile.collect`; that call is
    answered here, and only while collecting this file."""

    def collect(self):
        notebook = read_notebook(self.path)
        with mock.patch.object(nbval.plugin.nbformat, "read", lambda *_, **__: notebook):
            return list(super().collect())


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if (option.nbval or option.nbval_lax) and file_path.suffix == TEXT_SUFFIX:
        return TextNotebookFile.from_parent(parent, path=file_path)
    return None
