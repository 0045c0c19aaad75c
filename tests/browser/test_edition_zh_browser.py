"""Both editions as readers meet them: every page of the English book and of the Chinese one
(`_build/html/zh/`), built once in a copy of the repository, opened in Chromium offline.

On every page of both: no console error, no failed or blocked request, every glued value
filled; the header link lands on the same page in the other language and back; the numbers
of each English page are the numbers of its Chinese counterpart (glued values, tables, charts);
Chinese text is drawn with the book's own font; search in the Chinese edition finds Chinese
words. Screenshots of both are in `test-artifacts/book/` (the shared visit's).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from browsing import serve
from page_visits import SKIPPED_PAGES
from test_search_browser import found_pages

from cqbook.build import editions, webfont

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@pytest.fixture(scope="module")
def book_html(real_book_repo) -> Path:
    return (real_book_repo / "_build" / "html").resolve()


def english_pages(html_dir: Path) -> list[str]:
    return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                  if p.relative_to(html_dir).parts[0] not in ("zh", "_static", "_sources",
                                                              "_images")
                  and p.name not in SKIPPED_PAGES
                  and 'http-equiv="refresh"' not in p.read_text(encoding="utf-8").lower())


@pytest.fixture(scope="module")
def visits(reader_visits, book_html):
    """Each page of both editions, as opened once (conftest's `reader_visits`): what it logged
    and showed."""
    results = {}
    for english in english_pages(book_html):
        for name in (english, f"zh/{english}"):
            if name not in reader_visits:  # a page missing from one edition: told by the test
                continue
            shown = dict(reader_visits[name]["shown"])
            if shown["switch"]:
                shown["switch"] = urlsplit(shown["switch"]).path.lstrip("/")
            results[name] = {"problems": reader_visits[name]["problems"], **shown}
    return results


def test_every_page_exists_in_both_editions_and_opens_without_errors(visits, book_html):
    english = english_pages(book_html)
    assert {"book/summary.html", "book/sources.html", "book/glossary.html", "book/data.html",
            "book/build_info.html", "book/method.html", "notebooks/yongchuan.html"} <= set(english)
    zh_pages = {p.relative_to(book_html / "zh").as_posix()
                for p in (book_html / "zh").rglob("*.html")
                if p.relative_to(book_html / "zh").parts[0] not in ("_static", "_sources")}
    assert set(english) <= zh_pages
    problems = {name: visit["problems"] for name, visit in visits.items() if visit["problems"]}
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert {visit["lang"] for name, visit in visits.items() if name.startswith("zh/")} == {"zh-CN"}


def test_every_glued_value_is_filled_in_both_editions(visits):
    empty = {name: visit["pasted"].count("") for name, visit in visits.items()
             if any(not text.strip() for text in visit["pasted"])}
    assert not empty, empty
    raw = {name for name, visit in visits.items()
           if "{glue" in visit["text"] or "glue:text" in visit["text"]}
    assert not raw, raw
    assert sum(len(v["pasted"]) for n, v in visits.items() if n.startswith("zh/")) >= 150


def test_the_header_link_lands_on_the_same_page_in_the_other_language(visits, browser,
                                                                      book_html):
    wrong = {name: visit["switch"] for name, visit in visits.items()
             if visit["switch"] != (name[3:] if name.startswith("zh/") else f"zh/{name}")}
    assert not wrong, wrong
    # A reader clicking it: the chapter, then back.
    with serve(book_html) as origin:
        page = browser.new_page()
        try:
            page.goto(f"{origin}/notebooks/yongchuan.html", wait_until="load")
            page.click("a.cq-edition-switch")
            page.wait_for_url(f"{origin}/zh/notebooks/yongchuan.html")
            assert page.locator("main h1").first.inner_text().startswith("永川")
            page.click("a.cq-edition-switch")
            page.wait_for_url(f"{origin}/notebooks/yongchuan.html")
            assert page.locator("main h1").first.inner_text().startswith("Yongchuan")
        finally:
            page.close()


def _numbers(texts: list[str]) -> set[str]:
    found = set()
    for text in texts:
        # English dates are written 2023年4月28日 in Chinese: compare them in that form.
        text = editions._ENGLISH_DATE.sub(
            lambda m: f"{m.group(3)}年{editions._MONTHS.index(m.group(2)) + 1}月"
                      f"{int(m.group(1))}日", text)
        found |= set(NUMBER.findall(text))
    return found


def test_each_chinese_page_shows_the_numbers_of_its_english_counterpart(visits):
    """Same glued values (a Chinese value drops only the English conversion: 5.56 亿元
    (CNY 556 m) -> 5.56亿元), the same tables (cell outputs, byte for byte as text) and the
    same charts (the same image files)."""
    checked, different = 0, {}
    for name, english in visits.items():
        if name.startswith("zh/"):
            continue
        chinese = visits[f"zh/{name}"]
        extra = _numbers(chinese["pasted"]) - _numbers(english["pasted"])
        if extra or chinese["outputs"] != english["outputs"] \
                or chinese["charts"] != english["charts"] \
                or len(chinese["pasted"]) != len(english["pasted"]):
            different[name] = {"numbers only in zh": sorted(extra),
                               "outputs equal": chinese["outputs"] == english["outputs"],
                               "charts": [english["charts"], chinese["charts"]]}
        checked += bool(english["pasted"] or english["outputs"])
    assert not different, json.dumps(different, indent=1, ensure_ascii=False)
    assert checked >= 7  # six chapters and the summary
    summary = visits["zh/book/summary.html"]["pasted"]
    assert any("12,702" in text for text in summary)


def test_chinese_text_of_the_chinese_edition_is_drawn_with_the_books_font(reader_visits,
                                                                         book_html):
    """Checked on every page by the shared visit (tests/browsing.py:
    assert_drawn_with_book_font); here, that the Chinese pages had Chinese text to check."""
    drawn = []
    for name in ("zh/book/summary.html", "zh/notebooks/banan.html",
                 "zh/book/build_info.html", "zh/book/glossary.html"):
        font = reader_visits[name]["font"]
        assert font["problem"] is None, font["problem"]
        drawn.append(len(font["text"]))
    assert min(drawn) > 50, drawn
    # One font for both editions, subset to the characters of both.
    from fontTools.ttLib import TTFont

    font = book_html / webfont.FONTS_FOLDER / webfont.SUBSET_FILE
    assert not (book_html / "zh" / webfont.FONTS_FOLDER).exists()
    covered = {chr(code) for code in TTFont(font).getBestCmap()}
    missing = webfont.book_characters(book_html / "zh") - covered
    assert not missing, "".join(sorted(missing))


def test_search_in_the_chinese_edition_finds_chinese_words(browser, book_html):
    with serve(book_html) as origin:
        page = browser.new_page()
        try:
            search = urljoin(f"{origin}/", "zh/search.html")
            for query, chapter in (("永川", "yongchuan"), ("投资强度", "banan"),
                                   ("专用线", "yongchuan"), ("亩均论英雄", "manufacturing"),
                                   ("推算", "yongchuan")):
                found = found_pages(page, search, query)
                assert f"notebooks/{chapter}" in found, (query, sorted(found))
        finally:
            page.close()
