"""The figures table every chapter shows: each figure as printed, its quote, and a link to
its clause on the sources page; values are text, never markup."""

from __future__ import annotations

from cqbook.analysis.links import source_href
from cqbook.analysis.tables import article_figure_ids, figures_table


def test_an_articles_figures_are_listed_in_id_order_each_linked_to_its_clause():
    ids = article_figure_ids("tongliang_signings")
    assert ids == sorted(ids) and "tongliang_vehicle_parts_investment" in ids
    html = figures_table(ids).data
    assert [html.index(f'href="{source_href(i)}"') for i in ids] == sorted(
        html.index(f'href="{source_href(i)}"') for i in ids)
    assert "&gt; 50 亿元" in html  # the qualifier kept, as text
    assert "<th>measure</th>" in html and "<th>quote</th>" in html


def test_the_table_keeps_the_order_it_is_given():
    html = figures_table(["wankaiyun_gdp", "wankaiyun_integration_index"]).data
    assert html.index("2338.16亿元") < html.index("104.86")
