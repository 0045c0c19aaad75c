"""The PDF edition (`make pdf`, `python -m cqbook pdf`), printed from the real book built once
for the session, read back with poppler's tools (`pdftotext`, `pdffonts`, `pdfimages`, `pdfinfo`
from Debian's poppler-utils) and pypdf: what a reader of the PDF gets.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from browsing import GLUE_ROLE
from conftest import cqbook

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PDF_NAME = "one-page-of-chongqing-daily-read-as-data.pdf"
RIGHT_MARGIN_PT = 16 / 25.4 * 72


def poppler(tool: str, *arguments: str) -> str:
    if not shutil.which(tool):
        message = f"{tool} not found: install Debian's poppler-utils"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([tool, *arguments], capture_output=True, text=True, check=True).stdout


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def squeezed(text: str) -> str:
    """Without any white space: a title broken after a hyphen reads "Wan- Kai-Yun" back."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdf_repo(printed_book) -> Path:
    """The session's printed copy of the real book (conftest.printed_book)."""
    return printed_book[0]


@pytest.fixture(scope="module")
def book_html(pdf_repo, printed) -> Path:
    return (pdf_repo / "_build" / "html").resolve()


@pytest.fixture(scope="module")
def printed(printed_book):
    repo, result = printed_book
    return result, repo / "_build" / "pdf" / PDF_NAME


@pytest.fixture(scope="module")
def pdf(printed) -> Path:
    return printed[1]


@pytest.fixture(scope="module")
def pages_text(pdf) -> list[str]:
    return poppler("pdftotext", "-layout", str(pdf), "-").split("\f")[:-1]


@pytest.fixture(scope="module")
def toc(pdf_repo, book_html) -> list[tuple[str, str]]:
    """(page, title) in the order of _toc.yml; titles as each built page's <h1> gives them."""
    spec = yaml.safe_load((pdf_repo / "_toc.yml").read_text(encoding="utf-8"))
    files = [spec["root"]] + [c["file"] for part in spec["parts"] for c in part["chapters"]]
    entries = []
    for file in files:
        page = (book_html / f"{file}.html").read_text(encoding="utf-8")
        h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.DOTALL).group(1)
        entries.append((file, flat(html.unescape(re.sub(r"<[^>]+>", "", h1))).rstrip("#").strip()))
    return entries


def test_pdf_is_written_under_build_pdf_tagged_and_a4(printed):
    result, pdf = printed
    assert f"_build/pdf/{PDF_NAME}" in result.stdout
    info = poppler("pdfinfo", str(pdf))
    assert re.search(r"^Tagged:\s+yes", info, flags=re.MULTILINE)
    assert re.search(r"^Page size:\s+59[45]\.\d+ x 841\.\d+ pts \(A4\)", info, flags=re.MULTILINE)
    assert not list(pdf.parent.glob(".*.tmp")), "the temporary PDF is renamed into place"


def test_the_title_page_gives_paper_date_commit_and_data_hash(pages_text, book_html,
                                                               real_book_repo):
    import pandas as pd

    article = pd.read_csv(real_book_repo / "data" / "articles.csv").iloc[0]
    info = (book_html / "book" / "build_info.html").read_text(encoding="utf-8")
    commit = re.search(r"Build commit: <code[^>]*>(.*?)</code>", info).group(1)
    data_hash = re.search(r"\(SHA-256[^)]*\): <code[^>]*>(.*?)</code>", info).group(1)
    title_page = flat(pages_text[0])
    issue = pd.Timestamp(article["issue_date"]).strftime("%d %B %Y")
    for expected in (article["paper_title"], f"about {issue}", commit, data_hash):
        assert expected in title_page, (expected, title_page)


def test_bookmarks_follow_the_table_of_contents_one_part_per_new_page(pdf, pages_text, toc):
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top] == [title for _, title in toc]
    starts = [reader.get_destination_page_number(item) + 1 for item in top]
    assert starts == sorted(set(starts)), "each part starts on a page of its own, in order"
    assert starts[0] == 3, "after the title page and the contents"
    for (_, title), start in zip(toc, starts):
        assert squeezed(pages_text[start - 1]).startswith(
            squeezed(toc[0][1] + title)), f"page {start} opens with its header and {title!r}"
    contents = flat(pages_text[1])
    for (_, title), start in zip(toc, starts):
        assert f"{title} {start}" in contents, (title, start)
    nested = [item for item in reader.outline if isinstance(item, list)]
    assert nested and all(child.title.strip() for group in nested for child in group
                          if not isinstance(child, list)), "section headings nest under parts"


def test_every_page_is_numbered(pages_text):
    total = len(pages_text)
    assert total >= 40
    unnumbered = [k for k, text in enumerate(pages_text, 1) if f"{k} / {total}" not in text]
    assert unnumbered == []


def test_every_title_and_the_summarys_headline_values_are_in_the_text(pages_text, toc,
                                                                      real_book_repo):
    import json

    text = flat(" ".join(pages_text))
    assert [title for _, title in toc if squeezed(title) not in squeezed(text)] == []
    headlines = json.loads((real_book_repo / "_build" / "headline_values.json")
                           .read_text(encoding="utf-8"))
    source = (real_book_repo / "book" / "summary.md").read_text(encoding="utf-8")
    missing = []
    roles = GLUE_ROLE.findall(source)
    assert len(roles) >= 10
    for notebook, name in roles:
        entry = {h["name"]: h for h in headlines[notebook]}[name.removesuffix("_text")]
        expected = entry["text"] if name.endswith("_text") else str(entry["value"])
        if flat(expected) not in text:
            missing.append(f"{notebook}::{name} = {expected!r}")
    assert missing == []


def test_chinese_is_drawn_with_an_embedded_font_and_reads_back(pdf, pages_text,
                                                              real_book_repo):
    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(" yes " in line[50:] for line in fonts), "every font is embedded"
    # The book's web font (no system CJK font here: tests/browser/test_webfont_browser.py) comes out
    # as Type 3 with a Unicode map, so the text reads back as Chinese.
    assert any("Type 3" in line for line in fonts)
    page = (real_book_repo / "data" / "raw" / "chongqing_daily_page.txt").read_text(
        encoding="utf-8")
    sentence = "永川国家高新区铁路专用线自今年4月28日实现常态化运营以来"
    assert sentence in page
    assert sentence in re.sub(r"\s+", "", "".join(pages_text))


def test_charts_stay_vector_only_the_rasters_inside_the_charts_are_images(pdf, book_html):
    shown = {src.rsplit("/", 1)[-1] for page in (book_html / "notebooks").glob("*.html")
             for src in re.findall(r'<img [^>]*src="([^"]+\.svg)"',
                                   page.read_text(encoding="utf-8"))}
    assert len(shown) >= 10
    inside = sum((book_html / "_images" / name).read_text(encoding="utf-8").count("<image")
                 for name in shown)
    rows = [line.split() for line in poppler("pdfimages", "-list", str(pdf)).splitlines()[2:]]
    images = [row for row in rows if row[2] == "image"]
    # a matplotlib heat map (imshow) is a bitmap inside its SVG; everything else is paths
    assert len(images) == inside, rows


def test_source_links_stay_links_to_the_clause_in_the_pdf(pdf, book_html):
    from pypdf import PdfReader

    ids = {href.split("#", 1)[1] for page in (book_html / "notebooks").glob("*.html")
           for href in re.findall(r'href="([^"]*sources\.html#[^"]+)"',
                                  page.read_text(encoding="utf-8"))}
    assert len(ids) >= 20
    reader = PdfReader(pdf)
    linked = {str(annotation.get_object().get("/Dest", "")).lstrip("/")
              for page in reader.pages for annotation in page.get("/Annots") or []
              if annotation.get_object().get("/Subtype") == "/Link"}
    expected = {f"p-book-sources--{figure_id}" for figure_id in ids}
    assert sorted(expected - linked) == []
    destinations = reader.named_destinations
    assert sorted(expected - {name.lstrip("/") for name in destinations}) == []
    sources_start = next(reader.get_destination_page_number(item) for item in reader.outline
                         if not isinstance(item, list) and item.title.startswith("Sources"))
    landing = {reader.get_destination_page_number(destinations["/" + name])
               for name in expected}
    assert min(landing) >= sources_start


def test_no_word_runs_past_the_right_margin(pdf):
    """Nothing cut off: code wraps, tables fit (a clipped line leaves part of a word at the
    edge of the text area)."""
    layout = poppler("pdftotext", "-bbox", str(pdf), "-")
    over = []
    pages = re.finditer(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', layout,
                        flags=re.DOTALL)
    for number, page in enumerate(pages, 1):
        limit = float(page.group(1)) - RIGHT_MARGIN_PT + 1
        over += [f"page {number}: {word}" for x_max, word in re.findall(
            r'xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', page.group(2))
            if float(x_max) > limit]
    assert over == []


def test_pdf_of_a_book_not_built_is_refused_in_one_line(pdf_repo, tmp_path):
    result = cqbook(pdf_repo, "pdf", "--html", str(tmp_path / "none"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: no built book at {tmp_path / 'none'}: run "
                                     "`make book` first")


def test_the_published_book_links_its_pdf_from_every_page_and_a_build_keeps_it(
        pdf_repo, printed, book_html, toc):
    result, pdf = printed
    assert f"the published book links it from {len(toc)} pages" in result.stdout
    inside = book_html / PDF_NAME
    assert inside.read_bytes() == pdf.read_bytes()  # the book and its PDF: one build
    for file, _ in toc:
        page = (book_html / f"{file}.html").read_text(encoding="utf-8")
        links = re.findall(r'<li class="cq-pdf-edition"><a href="([^"]+)"', page)
        assert len(links) == 1, file
        assert (book_html / file).parent.joinpath(links[0]).resolve() == inside.resolve()
    root = re.search(r'<article class="bd-article".*?</article>', (
        book_html / f"{toc[0][0]}.html").read_text(encoding="utf-8"), flags=re.DOTALL).group(0)
    pages = len(pdf_reader(pdf).pages)
    assert f"The whole book is also a PDF: <a href=\"../{PDF_NAME}\">{PDF_NAME}</a> ({pages} " \
        "pages, " in root
    # Published anew, with its record: the next build trusts it and keeps the link.
    rebuilt = cqbook(pdf_repo, "build", timeout=900)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "book up to date: Sphinx skipped" in rebuilt.stdout
    assert (pdf_repo / "_build" / "html").resolve() == book_html
    assert "cq-pdf-edition" in (book_html / f"{toc[1][0]}.html").read_text(encoding="utf-8")


def test_printing_again_replaces_the_link_instead_of_adding_one(pdf_repo, printed, toc):
    again = cqbook(pdf_repo, "pdf", timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    book = (pdf_repo / "_build" / "html").resolve()
    for file, _ in toc:
        page = (book / f"{file}.html").read_text(encoding="utf-8")
        assert page.count('class="cq-pdf-edition') == (2 if file == toc[0][0] else 1), file
    assert sorted(p.name for p in (pdf_repo / "_build" / "books").iterdir()) == [book.name]


def pdf_reader(pdf: Path):
    from pypdf import PdfReader

    return PdfReader(pdf)
