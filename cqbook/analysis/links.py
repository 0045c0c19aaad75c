"""Links from a chapter to the sentence a figure was read from.

The book's sources page (`book/sources.md`, generated at build time by `cqbook.build.pages`) shows
the page itself with every figure of `data/figures.csv` highlighted, each under an HTML id
equal to its `figure_id`. A chapter links to it with `source_link(figure_id)`, written as
inline HTML because MyST resolves Markdown links to `.md`/`.html` targets as cross-references
and warns about an id it did not make (the build treats warnings as errors).

Usage in a chapter (a notebook in `notebooks/`)::

    display(Markdown(f"12,702 vehicles ({source_link('yongchuan_vehicles_shipped')})"))

or paste the returned text into a markdown cell by hand. This module imports nothing from the
data loader: it is cheap, and it stays usable where the data is not loaded.
"""

from __future__ import annotations

import html
import re

SOURCES_DOC = "book/sources"  # the generated page, as a document name of the book
FIGURE_ID = re.compile(r"[a-z0-9][a-z0-9_]*")


def anchor_id(figure_id: str) -> str:
    """The HTML id of a figure on the sources page: the figure_id itself, checked."""
    if not isinstance(figure_id, str) or not FIGURE_ID.fullmatch(figure_id):
        raise ValueError(f"{figure_id!r} is not a figure id (lower-case letters, digits, _)")
    return figure_id


def list_anchor_id(list_id: str) -> str:
    """The HTML id of a counted list (data/lists.csv) on the sources page: `list-<list_id>`,
    never a figure's id (a list and a figure may share a name)."""
    return f"list-{anchor_id(list_id)}"


def source_href(figure_id: str, from_folder: str = "notebooks") -> str:
    """The relative URL of the figure's sentence, from a page in `from_folder` of the book."""
    depth = len([part for part in from_folder.strip("/").split("/") if part])
    return f"{'../' * depth}{SOURCES_DOC}.html#{anchor_id(figure_id)}"


def source_link(figure_id: str, text: str = "Source", from_folder: str = "notebooks") -> str:
    """Inline HTML (valid Markdown) linking `text` to the figure's sentence on the sources
    page; relative to `notebooks/` unless `from_folder` says otherwise."""
    href = source_href(figure_id, from_folder)
    return (f'<a class="cq-source" href="{html.escape(href)}" '
            f'title="Where the page says it: {html.escape(figure_id)}">{html.escape(text)}</a>')


def sourced_table(frame):
    """`frame` as an HTML table, every value escaped; its `source` column of figure ids (None
    where a row has none) becomes links to the figures' sentences on the sources page."""
    from IPython.display import HTML

    shown = frame.drop(columns="source", errors="ignore").astype(str).map(html.escape)
    if "source" in frame:
        shown["source"] = [source_link(f) if isinstance(f, str) else ""
                           for f in frame["source"]]
    return HTML(shown.to_html(index=False, escape=False, justify="left"))
