"""The PDF edition exists for both editions: `cqbook pdf` prints the English book and the
Chinese one beside it (`_build/pdf/<book>-zh.pdf`), and each edition's pages link their own
PDF. The Chinese PDF reads back in Chinese with the book's font embedded."""

from __future__ import annotations

import re
import subprocess

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ENGLISH_PDF = "one-page-of-chongqing-daily-read-as-data.pdf"
CHINESE_PDF = "one-page-of-chongqing-daily-read-as-data-zh.pdf"


@pytest.fixture(scope="module")
def printed(printed_book):
    """The session's printed copy of the real book (conftest.printed_book), both editions."""
    return printed_book


def test_both_editions_are_printed_and_link_their_own_pdf(printed):
    repo, result = printed
    assert f"_build/pdf/{CHINESE_PDF}" in result.stdout
    assert "the zh edition links it from 12 pages" in result.stdout
    book = (repo / "_build" / "html").resolve()
    assert (book / "zh" / CHINESE_PDF).read_bytes() == \
        (repo / "_build" / "pdf" / CHINESE_PDF).read_bytes()
    chapter = (book / "zh" / "notebooks" / "yongchuan.html").read_text(encoding="utf-8")
    assert re.findall(r'<li class="cq-pdf-edition"><a href="([^"]+)"', chapter) == \
        [f"../{CHINESE_PDF}"]
    assert "PDF 版" in chapter
    english = (book / "notebooks" / "yongchuan.html").read_text(encoding="utf-8")
    assert re.findall(r'<li class="cq-pdf-edition"><a href="([^"]+)"', english) == \
        [f"../{ENGLISH_PDF}"]


def test_the_chinese_pdf_reads_back_in_chinese_with_the_books_font(printed):
    repo, _ = printed
    pdf = repo / "_build" / "pdf" / CHINESE_PDF
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for words in ("一页《重庆日报》，当作数据来读", "约2023年10月13日", "目录", "永川：铁路运汽车",
                  "已发运汽车12702辆", "版面没有告诉我们的"):
        assert words in flat, words
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts)  # every font embedded
