"""The sources page: the page's text with every figure's clause highlighted and anchored,
every list a chapter counts underlined and anchored, and every figure and list with its
clause."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cqbook.analysis.links import anchor_id, list_anchor_id
from cqbook.build.pages.common import (
    GENERATED,
    SOURCE_LANGUAGE,
    esc,
    html_table,
    md_text,
    translator,
)
from cqbook.paths import DATA_DIR

if TYPE_CHECKING:  # a no-op build imports this package; pandas costs it half a second
    import pandas as pd


def _headline_spans(page: str, articles: pd.DataFrame) -> list[tuple[int, int]]:
    spans = []
    for headline in articles["headline_zh"]:
        for part in headline.split():
            start = page.find(part)
            if start >= 0:
                spans.append((start, start + len(part)))
    return spans


def figure_spans(page: str, figures: pd.DataFrame,
                 articles: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Where each figure is on the page: its quote's first occurrence outside a headline (a
    headline repeats the article's number; the sentence is what the figure was read from)."""
    headlines = _headline_spans(page, articles)
    spans = {}
    for figure in figures.sort_values("figure_id").to_dict("records"):
        quote, starts, at = figure["quote"], [], page.find(figure["quote"])
        while at >= 0:
            starts.append(at)
            at = page.find(quote, at + 1)
        if not starts:
            raise ValueError(f"figure {figure['figure_id']}: quote not on the page: {quote!r}")
        body = [s for s in starts if not any(h0 <= s and s + len(quote) <= h1
                                             for h0, h1 in headlines)]
        start = (body or starts)[0]
        spans[figure["figure_id"]] = (start, start + len(quote))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def list_spans(page: str, lists: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Where each counted list is printed: its quote (which occurs once in the page)."""
    return {row["list_id"]: (page.index(row["quote"]), page.index(row["quote"]) + len(row["quote"]))
            for row in lists.sort_values("list_id").to_dict("records")}


def _check_nesting(spans: dict[str, tuple[int, int]], lists: dict[str, tuple[int, int]]) -> None:
    """A list's mark may hold whole figure marks, never half of one, and no other list: the
    marks nest, or the highlight would cover the wrong words."""
    for list_id, (start, end) in lists.items():
        others = [(f"figure {f}", s, e, s < start or e > end) for f, (s, e) in spans.items()]
        others += [(f"list {o}", s, e, True) for o, (s, e) in lists.items() if o != list_id]
        for what, s, e, crossing in others:
            if s < end and e > start and crossing:
                raise ValueError(f"list {list_id}: its quote overlaps the clause of {what} "
                                 "without holding it whole")


def marked_page(page: str, spans: dict[str, tuple[int, int]],
                titles: dict[str, str], lists: dict[str, tuple[int, int]] | None = None,
                list_titles: dict[str, str] | None = None) -> list[str]:
    """The page as HTML paragraphs: figures' clauses in <mark>, an anchor per figure; each
    counted list's clause in a <mark class="cq-list"> around them, with its own anchor."""
    lists, list_titles = lists or {}, list_titles or {}
    _check_nesting(spans, lists)
    anchors: dict[int, list[str]] = {}
    for figure_id, (start, _) in spans.items():
        anchors.setdefault(start, []).append(figure_id)
    paragraphs, offset = [], 0
    for line in page.split("\n"):
        line_start, line_end = offset, offset + len(line)
        offset = line_end + 1
        if not line.strip():
            continue
        inside = _merge([(max(s, line_start), min(e, line_end)) for s, e in spans.values()
                         if s < line_end and e > line_start])
        opens = {s: e for s, e in inside}
        closes = {e for _, e in inside}
        list_opens = {max(s, line_start): list_id for list_id, (s, e) in lists.items()
                      if s < line_end and e > line_start}
        list_closes = {min(e, line_end) for s, e in lists.values()
                       if s < line_end and e > line_start}
        out, open_mark, open_list = [], False, False
        for position in range(line_start, line_end):
            if position in closes and open_mark:
                out.append("</mark>")
                open_mark = False
            if position in list_closes and open_list:
                out.append("</mark>")
                open_list = False
            if position in list_opens:
                list_id = list_opens[position]
                out.append(f'<mark class="cq-list" title="{esc(list_titles.get(list_id, list_id))}">'
                           f'<span class="cq-anchor" id="{esc(list_anchor_id(list_id))}"></span>')
                open_list = True
            if position in opens:
                ids = [f for f, (s, e) in spans.items() if s < opens[position] and e > position]
                title = "; ".join(titles.get(f, f) for f in sorted(ids))
                out.append(f'<mark class="cq-figure" title="{esc(title)}">')
                open_mark = True
            for figure_id in sorted(anchors.get(position, [])):
                out.append(f'<span class="cq-anchor" id="{esc(anchor_id(figure_id))}"></span>')
            out.append(esc(page[position]))
        if open_mark:
            out.append("</mark>")
        if open_list:
            out.append("</mark>")
        paragraphs.append(f"<p>{''.join(out).strip()}</p>")
    return paragraphs


def sources_page(data_dir: Path = DATA_DIR, lang: str = SOURCE_LANGUAGE) -> str:
    from cqbook.dataset import package

    tr = translator(lang)
    title_column = "title_en" if lang == SOURCE_LANGUAGE else "headline_zh"

    page = package.source_text(data_dir)
    figures = package.figures(data_dir)
    articles = package.load_table("articles", data_dir)
    spans = figure_spans(page, figures, articles)
    printed = {f["figure_id"]: package.quantity(f).format() for f in figures.to_dict("records")}
    titles = {f: f"{f}: {printed[f]}" for f in spans}
    lists = package.load_table("lists", data_dir).sort_values("list_id")
    counted = {row["list_id"]: ("≥ " if row["ends_with_deng"] else "")
               + str(len(row["items"].split("、"))) for row in lists.to_dict("records")}
    list_titles = {row["list_id"]: f"{row['list_id']}: {counted[row['list_id']]} "
                   f"({row['what_en']})" for row in lists.to_dict("records")}
    list_rows = [[(f'<a href="#{esc(list_anchor_id(row["list_id"]))}"><code>'
                   f'{esc(row["list_id"])}</code></a>'), esc(row["what_en"]),
                  esc(counted[row["list_id"]]),
                  f'<span lang="zh-Hans">{esc(row["items"])}</span>',
                  f'<span lang="zh-Hans">{esc(row["quote"])}</span>']
                 for row in lists.to_dict("records")]
    tables = []
    for article in articles.sort_values("article_id").to_dict("records"):
        own = figures[figures["article_id"] == article["article_id"]].sort_values("figure_id")
        if own.empty:
            continue
        rows = [[f'<a href="#{esc(f["figure_id"])}"><code>{esc(f["figure_id"])}</code></a>',
                 esc(f["measure"]), esc(printed[f["figure_id"]]),
                 f'<span lang="zh-Hans">{esc(f["quote"])}</span>']
                for f in own.to_dict("records")]
        tables += [f"### {md_text(article[title_column])}", "",
                   html_table([tr(c) for c in ("figure", "what it measures", "value",
                                               "clause on the page")], rows, escape=False), ""]
    first = articles.iloc[0]
    return "\n".join([
        f"# {tr(GENERATED['sources'])}",
        "",
        tr("This is the text every number in the book was read from, exactly as the data "
           "package holds it (`data/raw/chongqing_daily_page.txt`, checked against its SHA-256 "
           "at every build). The paper and the issue date are not printed on the page; they are "
           "inferred ({paper}, about {date}). Line breaks are as extracted: some paragraphs are "
           "cut off where the page's layout broke them.", paper=md_text(first["paper_title"]),
           date=f"{first['issue_date']:%d %B %Y}" if lang == SOURCE_LANGUAGE else
           f"{first['issue_date']:%Y}年{first['issue_date'].month}月{first['issue_date'].day}日"),
        "",
        tr("Each of the {count} figures in `figures.csv` is "
           '<mark class="cq-figure">highlighted</mark> where it is printed; hover for its id '
           "and value. A chapter's *Source* link lands on the clause and outlines it. A number "
           "printed again in a headline is highlighted where the sentence says it, not in the "
           "headline.", count=len(spans)),
        "",
        tr("Each of the {count} lists a chapter counts (`lists.csv`) is "
           '<mark class="cq-list">underlined</mark> where it is printed; hover for its id and '
           "count. A list that ends in 等 (\"and others\") gives a floor, not a count (≥).",
           count=len(list_rows)),
        "",
        f"## {tr('The page')}",
        "",
        '<div class="cq-page" lang="zh-Hans">',
        *marked_page(page, spans, titles, list_spans(page, lists), list_titles),
        "</div>",
        "",
        f"## {tr('Every figure and its clause')}",
        "",
        tr("By article. Value as printed, with its qualifier kept (≥, >, ≈); the id links to "
           "the clause above."),
        "",
        *tables,
        f"## {tr('Every counted list and its clause')}",
        "",
        html_table([tr(c) for c in ("list", "what it lists", "count", "items",
                                    "clause on the page")], list_rows, escape=False),
        "",
    ])
