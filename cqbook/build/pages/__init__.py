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

import hashlib
import json
import os
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
from cqbook.paths import DATA_DIR, REPO_ROOT

__all__ = ["DATA_PAGES", "GENERATED", "KIND_TITLES", "STYLESHEET", "STYLESHEET_NAME",
           "WEBFONT_PLACEHOLDER", "BookState", "NotebookState", "add_provenance",
           "build_info_page", "commit_description", "data_page", "data_pages", "esc",
           "figure_spans", "fill_webfont_stats", "generated_pages", "glossary_page",
           "html_table", "marked_page", "md_text", "package_versions", "provenance_box",
           "sources_page"]


# The pages made from the data package alone, by the functions that make them.
DATA_PAGES = {"sources": sources_page, "glossary": glossary_page, "data": data_page}


def generated_pages(state: BookState, data_dir: Path = DATA_DIR, lang: str = SOURCE_LANGUAGE,
                    cache_dir: Path | None = None) -> dict[str, str]:
    """name -> MyST text of every generated page, in `lang` (see `data_pages` for
    `cache_dir`)."""
    return {**data_pages(data_dir, lang, cache_dir), "build_info": build_info_page(state, lang)}


def data_pages(data_dir: Path = DATA_DIR, lang: str = SOURCE_LANGUAGE,
               cache_dir: Path | None = None) -> dict[str, str]:
    """The sources, glossary and data pages in `lang`. With `cache_dir`, kept there under a
    digest of all they are made from (the data files, the package's code, the lock and the
    Python, the translations), so that a build whose data did not change reads them back
    rather than loading the tables again (importing pandas: most of a second of a rebuild
    that executes nothing). An entry that cannot be read back whole is made again."""
    if cache_dir is None:
        return {name: make(data_dir, lang=lang) for name, make in DATA_PAGES.items()}
    from cqbook.build import cache

    entry = Path(cache_dir) / f"{_data_pages_key(data_dir, lang)}.json"
    try:
        kept = json.loads(entry.read_text(encoding="utf-8"))
        if (isinstance(kept, dict) and set(kept) == set(DATA_PAGES)
                and all(isinstance(text, str) for text in kept.values())):
            os.utime(entry)
            return {name: kept[name] for name in DATA_PAGES}
    except (OSError, ValueError):
        pass
    made = data_pages(data_dir, lang)
    cache.write_json_atomic(entry, made)
    cache.keep_newest(Path(cache_dir), "*.json")  # both editions, and the data just before
    return made


def _data_pages_key(data_dir: Path, lang: str) -> str:
    from cqbook.build import cache

    translations = REPO_ROOT / "translations"
    inputs = {**cache.shared_inputs(), "lang": lang,
              "data": cache.tree_digest(cache.files_under(Path(data_dir)), root=Path(data_dir)),
              "translations": cache.tree_digest(cache.files_under(translations),
                                                root=translations)}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
