"""Search as a reader uses it: the book's search page (`search.html?q=…`), in Chromium, offline,
from a local server and from the file system.

Each query is a word printed on the page and analysed in one chapter — districts, companies,
policy terms, a number with and without its thousands separator — and must list that chapter
and the sources page among its results. The index side is `cqbook/build/search.py`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from browsing import LOCAL_HOSTS, serve
from sphinx.errors import ConfigError

from cqbook.build import search

REPO = Path(__file__).resolve().parents[2]

# query -> the chapter that analyses it
QUERIES = {
    "永川": "yongchuan",          # district
    "铜梁": "tongliang",          # district
    "巴南": "banan",              # district
    "万开云": "also_on_this_page",  # the Wanzhou–Kaizhou–Yunyang area
    "凌创": "banan",              # company, short name inside longer names
    "北京芯虹": "tongliang",      # company
    "金汇能": "tongliang",        # company
    "专精特新": "manufacturing",  # policy term of the book's jieba dictionary
    "一号工程": "manufacturing",  # policy term
    "亩均论英雄": "manufacturing",  # policy term
    "12702": "yongchuan",         # as printed on the page
    "12,702": "yongchuan",        # as the chapter formats it
    "Lingchuang": "banan",        # English, as the chapter writes the name
}

RESULTS_JS = """() => {
  const summary = document.querySelector("#search-results p.search-summary");
  // Sphinx writes the summary only when the search has finished (in the page's language: the
  // h2 says "Searching" in English only, so waiting on it read half the results in Chinese).
  if (!summary || !summary.textContent.trim()) return null;
  return [...document.querySelectorAll("#search-results ul.search li > a")]
    .map(a => new URL(a.href).pathname);
}"""


def found_pages(page, search_url: str, query: str) -> set[str]:
    page.goto(f"{search_url}?q={quote(query)}", wait_until="load")
    handle = page.wait_for_function(RESULTS_JS, timeout=30_000)
    return {path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1].removesuffix(".html")
            for path in handle.json_value()}


@pytest.fixture(scope="module")
def book_html(real_book_repo) -> Path:
    return (real_book_repo / "_build" / "html").resolve()


def _offline_context(browser, allowed_schemes):
    blocked: list[str] = []
    context = browser.new_context()

    def offline_only(route):
        url = urlsplit(route.request.url)
        if url.scheme in allowed_schemes or url.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", offline_only)
    return context, blocked


def _search_all(browser, search_url: str, allowed_schemes) -> tuple[dict, list[str]]:
    context, blocked = _offline_context(browser, allowed_schemes)
    try:
        page = context.new_page()
        return {query: found_pages(page, search_url, query) for query in QUERIES}, blocked
    finally:
        context.close()


def _missing(results: dict[str, set[str]]) -> dict[str, str]:
    return {query: f"{QUERIES[query]} or sources not in {sorted(pages)}"
            for query, pages in results.items()
            if not {f"notebooks/{QUERIES[query]}", "book/sources"} <= pages}


@pytest.mark.slow
@pytest.mark.browser
def test_each_query_finds_its_chapter_and_the_sources_page_over_http(browser, book_html):
    with serve(book_html) as origin:
        results, blocked = _search_all(browser, f"{origin}/search.html", ("data", "blob"))
    assert not blocked
    assert _missing(results) == {}


@pytest.mark.slow
@pytest.mark.browser
def test_each_query_finds_its_chapter_and_the_sources_page_from_the_file_system(browser,
                                                                                book_html):
    results, blocked = _search_all(browser, (book_html / "search.html").as_uri(),
                                   ("file", "data", "blob"))
    assert not blocked
    assert _missing(results) == {}


@pytest.mark.slow
@pytest.mark.browser
def test_a_word_not_in_the_book_finds_nothing(browser, book_html):
    context, _ = _offline_context(browser, ("file", "data", "blob"))
    try:
        assert found_pages(context.new_page(), (book_html / "search.html").as_uri(),
                           "喜马拉雅") == set()
    finally:
        context.close()


# --- the index side, without a browser --------------------------------------------------------


def test_numbers_are_indexed_in_one_spelling_with_thousands_separators():
    assert search.number_terms("已发运汽车12702辆") == ["12,702"]
    assert search.number_terms("12,702 vehicles, 20.6 bn, 27 projects, 1,234,567.89.") == [
        "12,702", "20.6", "1,234,567.89"]


@pytest.mark.browser
def test_the_search_page_splits_a_typed_number_as_the_index_spells_it(browser):
    page = browser.new_page()
    try:
        page.set_content(f"<script>{search.JS_SPLITTER}</script>")
        split = page.evaluate("qs => qs.map(q => splitQuery(q))",
                              ["12702", "12,702", "永川 12702辆", "20.6 亿元", "27 个"])
    finally:
        page.close()
    assert split == [["12,702"], ["12,702"], ["12,702", "永川", "辆"], ["20.6", "亿元"],
                     ["27", "个"]]


def test_chinese_is_cut_into_the_words_a_reader_types():
    language = search.BookSearch(dict(search.DEFAULT_OPTIONS))
    words = language.split("苏州凌创集团深耕汽车行业,推动中小企业沿着“创新型—专精特新—小巨人”路径")
    assert {"凌创", "苏州凌创集团", "专精特新", "中小企业"} <= set(words)


def test_latin_words_are_stemmed_by_pystemmer_and_remembered_per_index():
    import Stemmer

    first, second = (search.BookSearch(dict(search.DEFAULT_OPTIONS)) for _ in range(2))
    assert isinstance(first.stemmer, Stemmer.Stemmer)  # not snowballstemmer's Python one
    first.split("Vehicles shipped by Yongchuan's factories")
    assert {"Vehicles", "shipped", "factories"} <= first.latin_terms
    assert first.stem("factories") == "factori" and first.stem("CPU") == "cpu"
    assert second.latin_terms == set()  # Sphinx's own list is shared by the class


def test_a_missing_search_dictionary_is_a_configuration_error_naming_it():
    with pytest.raises(ConfigError, match="html_search_options dict: .*no_such.txt not found"):
        search.BookSearch({"dict": "data/no_such.txt"})
