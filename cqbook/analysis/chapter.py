"""A chapter's start: `article, text, source = start("tongliang_signings")`.

One call in each chapter's setup cell sets the book's chart style and gives the article it
reads (its row of articles.csv), its text on the page (from its start to the next article's,
data/articles.csv `start`) and the source credit every chart of the chapter prints. `start()`
without an id is the whole page: no article, the page's text, a credit for the page.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from cqbook.analysis.charts import use_book_style
from cqbook.dataset import package


class Chapter(NamedTuple):
    article: pd.Series | None  # a row of articles.csv; None for the whole page
    text: str
    source: str


def source_credit(article: pd.Series) -> str:
    """《main headline》, paper (inferred), issue of about date (inferred); byline as printed."""
    credit = (f"《{article['headline_zh'].split()[0]}》, {article['paper_title']} (inferred), "
              f"issue of about {article['issue_date']:%Y-%m-%d} (inferred)")
    return f"{credit}; {article['byline_printed']}" if article["byline_printed"] else credit


def page_credit() -> str:
    any_article = package.load_table("articles").iloc[0]
    return (f"the whole page, {any_article['paper_title']} (inferred), issue of about "
            f"{any_article['issue_date']:%Y-%m-%d} (inferred)")


def article(article_id: str) -> Chapter:
    """The article, its text and its source credit (no style set: see `start`)."""
    articles = package.load_table("articles").set_index("article_id", drop=False)
    if article_id not in articles.index:
        raise KeyError(f"articles.csv has no article {article_id!r} "
                       f"(articles: {', '.join(sorted(articles.index))})")
    row = articles.loc[article_id]
    return Chapter(row, package.article_texts()[article_id], source_credit(row))


def start(article_id: str | None = None) -> Chapter:
    """Set the chart style and return the chapter's article, text and source credit."""
    use_book_style()
    if article_id is None:
        return Chapter(None, package.source_text(), page_credit())
    return article(article_id)
