"""The book's generated pages: sources, glossary, data and build information, and the small
provenance box at the top of each chapter.

Each is a pure function of the data package and of what the build knows (parameters,
execution times, the commit), so none is committed: `publishing.stage_sources` writes them
into the staged book at every Sphinx build. Everything taken from the data or from a
parameter is text, never markup: inside raw HTML through `esc` (`html.escape`, and line
breaks as character references, so that no blank line ends the HTML block and lets MyST read
what follows); in a heading or a paragraph through `md_text` (every ASCII punctuation mark
backslash-escaped). A quote holding `<script>`, a MyST role, a ```` ```{literalinclude} ````
fence or a Markdown table bar shows as text; only the page frames (titles, prose written
here) are MyST.

One module per page (`sources`, `glossary`, `data`, `build_info`) and `common` for what
they share (escaping, tables, the build's state, the provenance box); the names callers use
are re-exported here, so `from cqbook.build import pages; pages.sources_page()` reads as before.
"""

from __future__ import annotations

from pathlib import Path

from cqbook.build.pages.build_info import (
    WEBFONT_PLACEHOLDER,
    build_info_page,
    commit_description,
    fill_webfont_stats,
    package_versions,
)
from cqbook.build.pages.common import (
    GENERATED,
    SOURCE_LANGUAGE,
    STYLESHEET,
    STYLESHEET_NAME,
    BookState,
    NotebookState,
    add_provenance,
    esc,
    html_table,
    md_text,
    provenance_box,
)
from cqbook.build.pages.data import data_page
from cqbook.build.pages.glossary import KIND_TITLES, glossary_page
from cqbook.build.pages.sources import figure_spans, marked_page, sources_page
from cqbook.paths import DATA_DIR

__all__ = ["GENERATED", "KIND_TITLES", "STYLESHEET", "STYLESHEET_NAME", "WEBFONT_PLACEHOLDER",
           "BookState", "NotebookState", "add_provenance", "build_info_page",
           "commit_description", "data_page", "esc", "figure_spans", "fill_webfont_stats",
           "generated_pages", "glossary_page", "html_table", "marked_page", "md_text",
           "package_versions", "provenance_box", "sources_page"]


def generated_pages(state: BookState, data_dir: Path = DATA_DIR,
                    lang: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """name -> MyST text of every generated page, in `lang`."""
    return {"sources": sources_page(data_dir, lang=lang),
            "glossary": glossary_page(data_dir, lang=lang),
            "data": data_page(data_dir, lang=lang), "build_info": build_info_page(state, lang)}
