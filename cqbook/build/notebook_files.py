"""The chapter notebooks as committed: MyST Markdown text files, read back into notebooks.

Why text (jupytext's MyST format, as the QuantEcon lectures keep theirs): a one-line change to
a cell's code or prose is a one-line `git diff` on a pull-request page, with no notebook diff
driver installed. The text is the only committed form; the `.ipynb` a reader's book is built
from exists only in `_build/` (executed). A `.ipynb` in `notebooks/` is still read, so that a
user's own notebook (and the pipeline's small fixture notebooks) work as before; a name held
by both forms is refused.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

TEXT_SUFFIX = ".md"
NOTEBOOK_SUFFIXES = (TEXT_SUFFIX, ".ipynb")
TEXT_FORMAT = "md:myst"
CODE_CELL = "{code-cell}"


class NotebookFileError(ValueError):
    """A notebook file that cannot be read; the message names the file and what is wrong."""


def notebook_files(folder: Path) -> dict[str, Path]:
    """Every notebook in `folder` by name (the file's stem), text or JSON."""
    found: dict[str, Path] = {}
    for path in sorted(p for p in Path(folder).iterdir() if p.suffix in NOTEBOOK_SUFFIXES
                       and not p.name.startswith(".")):
        if path.stem in found:
            raise NotebookFileError(f"{found[path.stem]} and {path}: one notebook in two files; "
                                    f"keep the text form ({path.stem}{TEXT_SUFFIX}) only")
        found[path.stem] = path
    return found


def cell_id(notebook_name: str, index: int) -> str:
    """A cell's id from its place: the text form stores no ids, and random ones (nbformat's
    default) would make every executed copy differ."""
    return f"{notebook_name.replace('_', '-')}-{index:02d}"


def read_notebook(path: Path):
    """The notebook in `path` as an nbformat NotebookNode (version 4, stable cell ids)."""
    import nbformat

    path = Path(path)
    try:
        if path.suffix == TEXT_SUFFIX:
            import jupytext

            notebook = jupytext.read(path, fmt=TEXT_FORMAT)
            # jupytext's own header (format and jupytext versions) is not the notebook's.
            notebook.metadata.pop("jupytext", None)
            notebook.nbformat, notebook.nbformat_minor = 4, 5
            notebook.metadata.setdefault("language_info", {"name": "python"})
            for index, cell in enumerate(notebook.cells):
                cell.id = cell_id(path.stem, index)
            return notebook
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NotebookFileError(f"{path}: not a readable notebook ({reason[:200]})") from None


def write_text_notebook(notebook, path: Path) -> None:
    """Write `notebook` in the committed text form (used to convert a `.ipynb`)."""
    import jupytext

    jupytext.write(notebook, path, fmt=TEXT_FORMAT)


def read_cells_quickly(path: Path) -> list[dict[str, Any]]:
    """Each cell's type, source and tags, without importing nbformat or jupytext (seconds
    each): a no-op build reads every notebook's parameter declaration.

    For the text form, the code cells are the ```{code-cell} fences; their options (`:tags:`
    lines, or a `---` YAML block) come before the code. tests/build/test_notebook_files.py checks
    that this agrees with jupytext on every notebook.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NotebookFileError(f"{path}: cannot be read ({error})") from None
    # A build reads each notebook twice (its parameters, then what it reads of others):
    # parse once per text.
    key = (str(path), text)
    if key not in _QUICK_CELLS:
        _QUICK_CELLS[key] = _parse_cells(path, text)
    return [dict(cell, tags=list(cell["tags"])) for cell in _QUICK_CELLS[key]]


_QUICK_CELLS: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _parse_cells(path: Path, text: str) -> list[dict[str, Any]]:
    import json

    if path.suffix != TEXT_SUFFIX:
        try:
            notebook = json.loads(text)
            return [{"cell_type": c["cell_type"], "source": _joined(c["source"]),
                     "tags": list(c.get("metadata", {}).get("tags", []))}
                    for c in notebook["cells"]]
        except (ValueError, KeyError, TypeError) as error:
            raise NotebookFileError(f"{path}: not a notebook in JSON ({error})") from None
    return [_code_cell(token.info, token.content, path) for token in _fences(text)
            if token.info.strip().startswith(CODE_CELL)]


def _joined(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def _fences(text: str):
    return [t for t in _block_parser().parse(text) if t.type == "fence"]


@functools.cache
def _block_parser():
    """CommonMark's block parser only: fences are blocks, and parsing the inline text of
    every paragraph was most of the time a no-op build spent on notebooks."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").disable(["inline", "text_join"])


def _code_cell(info: str, content: str, path: Path) -> dict[str, Any]:
    lines = content.splitlines(keepends=True)
    options: dict[str, Any] = {}
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            raise NotebookFileError(f"{path}: a code cell's `---` options block is not closed")
        options = _options_yaml("".join(lines[1:end]), path) or {}
        lines = lines[end + 1:]
    else:
        while lines and lines[0].startswith(":"):
            key, _, value = lines.pop(0)[1:].partition(":")
            options[key.strip()] = _options_yaml(value, path) if value.strip() else None
    if options and lines and not lines[0].strip():
        lines = lines[1:]  # the blank line jupytext writes between the options and the code
    tags = options.get("tags", []) if isinstance(options, dict) else []
    return {"cell_type": "code", "source": "".join(lines).rstrip("\n"),
            "tags": list(tags or [])}


def _options_yaml(text: str, path: Path):
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise NotebookFileError(f"{path}: a code cell's options are not valid YAML "
                                f"({mark})") from None
