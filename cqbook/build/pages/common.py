"""What every generated page shares: text made safe for raw HTML (`esc`) and for MyST
(`md_text`), the raw-HTML table, the pages' titles and stylesheet, the build's state, and the
provenance box put under each chapter's title.

Everything taken from the data or from a parameter is text, never markup: inside raw HTML
through `esc` (`html.escape`, and line breaks as character references, so that no blank line
ends the HTML block and lets MyST read what follows); in a heading or a paragraph through
`md_text` (every ASCII punctuation mark backslash-escaped).
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

# Generated page name (book/<name>.md in the stage) -> title
GENERATED = {"sources": "Sources: the page itself",
             "glossary": "Glossary",
             "data": "Data: the tables, to download",
             "build_info": "Build information"}
STYLESHEET_NAME = "cqbook.css"
SOURCE_LANGUAGE = "en"
STYLESHEET = """\
/* cqbook: generated pages and chapter provenance boxes */
.cq-page p { margin: 0 0 0.6em 0; line-height: 1.9; }
.cq-page { border-left: 3px solid #999999; padding-left: 1em; }
/* Highlighted figures: own text colour in both modes (WCAG AA, 4.5:1; the browser test
   tests/browser/test_accessibility_browser.py measures it), never the page's. */
mark.cq-figure { background: #fdf0c2; color: #1f2328; padding: 0 0.1em;
                 border-bottom: 2px solid #B37A00; }
/* Counted lists (data/lists.csv): underlined only, so the figures inside keep their colours. */
mark.cq-list { background: none; color: inherit; border-bottom: 2px dotted #0072B2; }
html[data-theme="dark"] mark.cq-list { border-bottom-color: #56B4E9; }
.cq-anchor { scroll-margin-top: 6rem; }
mark.cq-figure:has(.cq-anchor:target) { background: #ffd27a; color: #1f2328;
                                        outline: 2px solid #D55E00; }
html[data-theme="dark"] mark.cq-figure { background: #4a3a08; color: #f6f0dc;
                                         border-bottom-color: #E69F00; }
html[data-theme="dark"] mark.cq-figure:has(.cq-anchor:target) { background: #6b4a00;
                                         color: #ffffff; outline-color: #ff9c5b; }
table.cq-table { font-size: 0.9em; }
table.cq-table td, table.cq-table th { vertical-align: top; }
.cq-provenance code, .cq-build code { word-break: break-all; }
.cq-provenance table.cq-table { width: auto; margin: 0.3em 0; font-size: 0.85em; }
.cq-provenance table.cq-table td, .cq-provenance table.cq-table th { padding: 0.15em 0.8em; }
.cq-provenance p { margin: 0.3em 0; }
/* Print (and the PDF edition, cqbook/build/pdf.py): nothing cut off at the page's right edge;
   code and tables wrap instead of scrolling. */
@media print {
  mark.cq-figure { background: none; color: inherit; border-bottom: 1px solid #000; }
  pre, pre code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  div.cell_output .output, .pst-scrollable-table-container, .table-wrapper,
  div.highlight, .output_area { overflow: visible !important; max-height: none !important; }
  table { max-width: 100%; table-layout: auto; }
  td, th { overflow-wrap: break-word; }
  img, svg, figure { max-width: 100% !important; height: auto; break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
}
"""
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAK = re.compile(r"\r\n?|\n")


def esc(value: Any) -> str:
    """Text for raw HTML: every character that could open markup is escaped, and a line
    break becomes `&#10;` (a blank line would end the raw HTML block: MyST would read the
    rest as Markdown, directives included)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _LINE_BREAK.sub("&#10;", html.escape(str(value), quote=True))


def md_text(value: Any) -> str:
    """Text for a MyST heading or paragraph: one line, every ASCII punctuation mark
    backslash-escaped, so that no role, directive, link, HTML tag or emphasis can open."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


def html_table(columns: list[str], rows: list[list[str]], escape: bool = True) -> str:
    """One raw-HTML table on consecutive lines (MyST keeps an HTML block until a blank line)."""
    cell = esc if escape else str
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                     for row in rows)
    return (f'<table class="table cq-table">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            f"{body}\n</tbody>\n</table>")



# --- the build's state -------------------------------------------------------------------------


@dataclass
class NotebookState:
    name: str
    parameters: dict[str, Any]
    defaults: bool
    seconds: float | None = None
    status: str = "cached"  # "executed" in this build, or "cached" from an earlier one


@dataclass
class BookState:
    notebooks: dict[str, NotebookState] = field(default_factory=dict)
    commit: str = "no git"
    data_hash: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    python: str = ""



def translator(lang: str = SOURCE_LANGUAGE):
    """`tr(english, **values)`: a page's own English string in `lang`, from
    translations/<lang>/_strings.md (the English is the key, as in gettext: a string changed
    here has no translation until the file follows, and the build says which)."""
    if lang == SOURCE_LANGUAGE:
        return lambda text, **values: text.format(**values) if values else text
    from cqbook.build.editions import Strings

    return Strings.read(lang)


# --- provenance box ----------------------------------------------------------------------------


def _parameter_rows(parameters: dict[str, Any], tr) -> str:
    if not parameters:
        return f"<p>{tr('This chapter has no parameters.')}</p>"
    rows = [[name, json.dumps(value, ensure_ascii=False)] for name, value in
            sorted(parameters.items())]
    return html_table([tr("parameter"), tr("value")], rows)


def provenance_box(notebook: NotebookState, state: BookState,
                   lang: str = SOURCE_LANGUAGE) -> str:
    """The markdown cell put after a chapter's title: what made this page."""
    tr = translator(lang)
    which = (tr("Run with the defaults declared in the notebook.") if notebook.defaults else
             tr("Run with <strong>not the defaults</strong>: see the values below."))
    return "\n".join([
        '<div class="admonition note cq-provenance">',
        f'<p class="admonition-title">{tr("How this page was made")}</p>',
        f"<p>{which}</p>",
        _parameter_rows(notebook.parameters, tr),
        f"<p>{tr('Data package (SHA-256)')}: <code>{esc(state.data_hash)}</code><br>",
        (f"{tr('Build commit')}: <code>{esc(state.commit)}</code> · "
         f'<a href="../book/build_info.html">{tr("build information")}</a> · '
         f'<a href="../book/method.html">{tr("how to re-run this chapter")}</a></p>'),
        "</div>",
    ])


def add_provenance(notebook_json: dict, box: str) -> dict:
    """Insert `box` as a markdown cell after the title cell (the first markdown cell with a
    `# ` heading), or first."""
    cells = list(notebook_json["cells"])
    position = next((i + 1 for i, cell in enumerate(cells) if cell["cell_type"] == "markdown"
                     and "".join(cell["source"]).lstrip().startswith("# ")), 0)
    if position:
        # A title cell that goes on (title + overview in one cell): the box goes under the
        # title line, so the rest becomes a cell of its own.
        title_cell = dict(cells[position - 1])
        title, _, rest = "".join(title_cell["source"]).lstrip().partition("\n")
        if rest.strip():
            title_cell["source"] = title
            remainder = {**title_cell, "id": f"{title_cell.get('id', 'title')}-rest",
                         "source": rest.strip("\n")}
            cells[position - 1] = title_cell
            cells.insert(position, remainder)
    cell = {"cell_type": "markdown", "id": "cqbook-provenance", "metadata": {},
            "source": box}
    notebook_json["cells"] = cells[:position] + [cell] + cells[position:]
    return notebook_json
