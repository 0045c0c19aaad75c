"""Links from a chapter to the clause a figure was read from."""

import pytest

from cqbook.analysis.links import anchor_id, source_href, source_link


def test_source_link_points_from_a_chapter_to_the_figures_anchor_on_the_sources_page():
    link = source_link("yongchuan_vehicles_shipped")
    assert 'href="../book/sources.html#yongchuan_vehicles_shipped"' in link
    assert link.startswith("<a ") and link.endswith(">Source</a>")


def test_source_href_is_relative_to_the_folder_of_the_page_that_links():
    assert source_href("banan_investment_total", "book") == "../book/sources.html#banan_investment_total"
    assert source_href("banan_investment_total", "") == "book/sources.html#banan_investment_total"
    assert source_href("banan_investment_total", "a/b") == (
        "../../book/sources.html#banan_investment_total")


def test_link_text_is_escaped():
    assert "&lt;b&gt;" in source_link("banan_investment_total", text="<b>")


@pytest.mark.parametrize("bad", ["", "Banan", "a b", "x#y", "<script>", None, "a-b"])
def test_something_that_is_not_a_figure_id_is_refused(bad):
    with pytest.raises(ValueError, match="not a figure id"):
        anchor_id(bad)


def test_a_sourced_table_escapes_values_and_links_its_sources():
    import pandas as pd

    from cqbook.analysis.links import sourced_table

    frame = pd.DataFrame({"measure": ["<b>x</b>", "y"], "source": ["fig_a", None]})
    html_text = sourced_table(frame).data
    assert "&lt;b&gt;x&lt;/b&gt;" in html_text and "<b>x</b>" not in html_text
    assert f'href="{source_href("fig_a")}"' in html_text
    assert html_text.count("href=") == 1  # the row without a source has no link
