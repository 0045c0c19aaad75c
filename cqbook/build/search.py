"""The book's search index: Chinese words as a reader types them, numbers as printed and as
formatted.

A Sphinx extension (listed in `_config.yml`). It replaces Sphinx's Chinese search language
(`html_search_language: zh`) by one that cuts Chinese with the book's own jieba segmenter
(`cqbook.analysis.segmentation`: jieba's dictionary plus the policy terms of
`data/jieba_user_dict.txt`, so 专精特新 is a word) and also indexes every glossary term written
in a text, so a name such as 铜梁高新区 or 凌创测控科技 is found whole as well as by its parts.
Latin words keep Sphinx's English stemming.

Numbers: Sphinx's search page ignores a query word made of digits only, and splits `12,702` at
the comma. Here every number of four or more digits (or with a decimal part) is indexed in one
spelling, grouped by thousands (`12702` and `12,702` both as `12,702`, `2023` as `2,023`), and
the search page's splitter (`BookSearch.js_splitter_code`) turns a number typed either way
into the same spelling, which then counts as a word. A number under 1,000 stays unsearchable,
as in Sphinx itself (it would match too much).
"""

from __future__ import annotations

import re
from pathlib import Path

import snowballstemmer
from sphinx.errors import ConfigError
from sphinx.search.zh import SearchChinese

from cqbook.paths import REPO_ROOT

# html_search_options keys -> the book's files (relative paths: from the repository root, as
# `cqbook.paths` finds the data; the staged book copies only the data package's resources).
DEFAULT_OPTIONS = {"dict": "data/jieba_user_dict.txt", "glossary": "data/glossary.csv"}
# A number as printed: digits, thousands groups allowed, a decimal part allowed.
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!\d)")
_THOUSANDS = re.compile(r"\B(?=(\d{3})+(?!\d))")
# The same rules in the browser: numbers first, in the indexed spelling, then Sphinx's own split.
JS_SPLITTER = r"""
var splitQuery = (query) => {
  const numbers = [];
  const rest = query.replace(/(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!\d)/gu,
    (_, whole, fraction) => {
      numbers.push(whole.replace(/,/g, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",")
                   + (fraction || ""));
      return " ";
    });
  return numbers.concat(rest.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu))
                .filter(term => term);
};
"""


def number_terms(text: str) -> list[str]:
    """Every number of `text` that the search page can look up, in the indexed spelling:
    `12702` and `12,702` -> `12,702`; `20.6` -> `20.6`; `27` -> nothing (digits only)."""
    terms = []
    for whole, fraction in _NUMBER.findall(text):
        term = _THOUSANDS.sub(",", whole.replace(",", "")) + fraction
        if not term.isdigit():
            terms.append(term)
    return terms


def option_path(options: dict, key: str) -> Path:
    path = Path(options.get(key) or DEFAULT_OPTIONS[key])
    path = path if path.is_absolute() else REPO_ROOT / path
    if not path.is_file():
        raise ConfigError(f"html_search_options {key}: {path} not found")
    return path


def glossary_terms(path: Path) -> list[str]:
    import csv

    with open(path, encoding="utf-8", newline="") as handle:
        return sorted({row["term_zh"].strip() for row in csv.DictReader(handle)
                       if row.get("term_zh", "").strip()}, key=lambda t: (-len(t), t))


class BookSearch(SearchChinese):
    """`zh`: the book's segmenter, glossary terms whole, numbers in one spelling."""

    js_splitter_code = JS_SPLITTER

    def init(self, options: dict[str, str]) -> None:
        from cqbook.analysis import segmentation

        self.tokenizer = segmentation.segmenter(dictionary=option_path(options, "dict"))
        self.terms = glossary_terms(option_path(options, "glossary"))
        # snowballstemmer hands out PyStemmer's C stemmer (installed with the book), a tenth
        # of a second a page quicker than its own Python one, with the same Snowball rules.
        self.stemmer = snowballstemmer.stemmer("english")
        # SearchChinese.stem asks whether each word is one of these: Sphinx 7.4 (pinned) keeps
        # them in a list shared by the class, which made a full index quadratic in its words.
        self.latin_terms = set()

    def split(self, input: str) -> list[str]:
        chinese = [word for word in self.tokenizer.cut_for_search(input) if word.strip()]
        whole = [term for term in self.terms if term in input]
        latin = self.latin1_letters.findall(input)
        self.latin_terms.update(latin)
        return chinese + whole + latin + number_terms(input)


def keep_book_words(app, exception) -> None:
    """Once the book is built: the characters its pages brought that the kept book's words
    lacked widen them, so the next build's segmenters start small again."""
    if exception is None and getattr(app.builder, "search", False):
        from cqbook.analysis import jieba_dictionary

        jieba_dictionary.save_book_words()


def setup(app):
    app.add_search_language(BookSearch)
    app.connect("build-finished", keep_book_words)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
