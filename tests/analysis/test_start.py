"""A chapter's one setup call: `article, text, source = start(article_id)` sets the chart
style and gives the article, its text on the page and the source credit of its charts."""

from __future__ import annotations

import matplotlib
import pytest

from cqbook.analysis.chapter import article, start
from cqbook.analysis.fonts import FONT_NAME
from cqbook.dataset import package


def test_start_sets_the_style_and_returns_article_text_and_credit():
    matplotlib.rcdefaults()
    chapter = start("tongliang_signings")
    assert matplotlib.rcParams["font.sans-serif"][0] == FONT_NAME
    assert chapter.article["article_id"] == "tongliang_signings"
    assert chapter.text.startswith("铜梁签约27个项目")
    assert "此外,北京芯虹科技有限责任公司" in chapter.text
    assert "产业协同 共建共享 相向发展" not in chapter.text  # the next article's start
    assert chapter.source == ("《铜梁签约27个项目》, 重庆日报 (inferred), issue of about "
                              "2023-10-13 (inferred); 首席记者 陈维灯")


def test_the_photo_credit_is_printed_as_the_page_prints_it():
    assert article("yongchuan_rail_exports").source.endswith("; 特约摄影 陈仕川/视觉重庆")


def test_an_inferred_byline_is_not_put_in_the_credit():
    assert article("banan_q3_signings").source == (
        "《巴南晒出第三季度招商引资攻坚成果》, 重庆日报 (inferred), issue of about 2023-10-13 "
        "(inferred)")


def test_without_an_id_the_chapter_is_the_whole_page():
    chapter = start()
    assert chapter.article is None and chapter.text == package.source_text()
    assert chapter.source.startswith("the whole page, 重庆日报 (inferred)")


def test_the_articles_cut_the_page_in_page_order_without_a_gap():
    texts = package.article_texts()
    page = package.source_text()
    assert next(iter(texts)) == "manufacturing_strategy"
    assert list(texts)[-1] == "banan_q3_signings"
    positions = [page.index(text) for text in texts.values()]
    assert positions == sorted(positions)


def test_an_unknown_article_is_named():
    with pytest.raises(KeyError, match="no article 'tongliang'"):
        article("tongliang")
