"""The generated pages: every figure anchored once on its clause, data shown as text (never
as markup), the provenance box under each chapter's title."""

from __future__ import annotations

import re

import pytest

from cqbook.build import pages
from cqbook.dataset import package

HOSTILE = '<script>alert(1)</script> {glue:text}`x` | **b** [l](http://x) &amp; "q"'


@pytest.fixture(scope="module")
def sources_text():
    return pages.sources_page()


def test_every_figure_is_anchored_exactly_once_on_the_sources_page(sources_text):
    ids = re.findall(r'<span class="cq-anchor" id="([^"]+)"></span>', sources_text)
    figure_ids = set(package.figures()["figure_id"])
    assert sorted(i for i in ids if not i.startswith("list-")) == sorted(figure_ids)


def test_every_counted_list_is_underlined_once_around_its_own_quote(sources_text):
    lists = package.load_table("lists")
    marked = re.findall(r'<mark class="cq-list" title="([^"]+)"><span class="cq-anchor" '
                        r'id="list-([a-z0-9_]+)"></span>', sources_text)
    assert sorted(list_id for _, list_id in marked) == sorted(lists["list_id"])
    assert 'title="tongliang_storage_firms: ≥ 5 (' in sources_text  # 等: a floor
    # The figure printed inside a list keeps its own highlight, nested in the list's.
    assert ('id="list-tongliang_vehicle_parts_projects"></span>本次签约了智能座舱、传动系统、制动系统以及'
            '<mark class="cq-figure"') in sources_text
    assert sources_text.count('<a href="#list-') == len(lists)  # the table of lists


def test_a_list_cutting_through_a_figures_clause_is_refused():
    page = "甲乙丙丁戊"
    with pytest.raises(ValueError, match="list l_one: its quote overlaps the clause of figure"):
        pages.marked_page(page, {"f_one": (1, 4)}, {}, {"l_one": (2, 5)}, {})
    html = pages.marked_page(page, {"f_one": (1, 3)}, {}, {"l_one": (0, 5)}, {})[0]
    assert html.index('<mark class="cq-list"') < html.index('<mark class="cq-figure"')
    assert html.endswith("</mark>丁戊</mark></p>")


def test_each_anchor_sits_inside_the_highlight_of_its_own_quote(sources_text):
    figures = package.figures().set_index("figure_id")
    page = package.source_text()
    spans = pages.figure_spans(page, figures.reset_index(), package.load_table("articles"))
    for figure_id, (start, end) in spans.items():
        assert page[start:end] == figures.loc[figure_id, "quote"]


def test_a_figure_repeated_in_a_headline_is_anchored_in_the_sentence():
    page = package.source_text()
    spans = pages.figure_spans(page, package.figures(), package.load_table("articles"))
    start, _ = spans["banan_investment_total"]
    headline_end = page.index("32个项目集中签约 总投资178亿元") + len("32个项目集中签约 总投资178亿元")
    assert start > headline_end


def test_text_from_the_data_is_escaped_in_the_marked_page():
    page = f"前言 {HOSTILE}\n\n数字12702辆 后记"
    html = "\n".join(pages.marked_page(page, {"f_one": (page.index("12702"), page.index("辆") + 1)},
                                       {"f_one": '<b title="x">'}))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<b title="x">' not in html
    assert '<span class="cq-anchor" id="f_one"></span>12702辆</mark>' in html
    assert html.count("<p>") == 2  # one paragraph per non-empty line


def test_overlapping_quotes_share_one_highlight_and_keep_both_anchors():
    page = "甲乙丙丁戊"
    html = pages.marked_page(page, {"a_one": (0, 3), "b_two": (2, 5)}, {})[0]
    assert html.count("<mark") == 1
    assert 'id="a_one"' in html and 'id="b_two"' in html
    assert html.index('id="a_one"') < html.index("甲") < html.index('id="b_two"') < html.index("丙")


def test_tables_escape_their_cells():
    table = pages.html_table(["a"], [[HOSTILE]])
    assert "<script>" not in table and "{glue:text}" in table  # shown, as text in raw HTML
    assert "\n\n" not in table  # one HTML block: MyST ends raw HTML at a blank line


def test_provenance_box_shows_parameters_as_text_and_says_whether_defaults():
    state = pages.BookState(commit="abc1234 + uncommitted changes", data_hash="f" * 64)
    box = pages.provenance_box(pages.NotebookState("x", {"label": HOSTILE}, False), state)
    assert "<script>" not in box and "&lt;script&gt;" in box
    assert "not the defaults" in box and "abc1234 + uncommitted changes" in box
    assert "f" * 64 in box and "\n\n" not in box
    defaults = pages.provenance_box(pages.NotebookState("x", {}, True), state)
    assert "the defaults" in defaults and "not the defaults" not in defaults


def test_provenance_box_goes_under_the_title_even_when_the_title_cell_goes_on():
    notebook = {"cells": [
        {"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# Title\n\n## Overview\nx"},
        {"cell_type": "code", "id": "p", "metadata": {}, "source": "a = 1", "outputs": [],
         "execution_count": None}]}
    cells = pages.add_provenance(notebook, "BOX")["cells"]
    assert [c["source"] for c in cells[:3]] == ["# Title", "BOX", "## Overview\nx"]
    assert len({c["id"] for c in cells}) == len(cells)


def test_glossary_page_lists_every_term_with_pinyin():
    text = pages.glossary_page()
    glossary = package.load_table("glossary")
    for term in glossary.to_dict("records"):
        assert pages.esc(term["pinyin"]) in text
        assert pages.esc(term["term_zh"]) in text


def test_data_page_offers_every_resource_for_download_with_its_schema():
    text = pages.data_page()
    for name in package.TABLES:
        assert f"<../data/{name}.csv>`" in text
    assert "<code>figure_id</code>" in text
    assert "datapackage.json <../data/datapackage.json>" in text


def test_build_info_page_names_commit_hash_versions_and_the_web_font_slot():
    state = pages.BookState(
        notebooks={"banan": pages.NotebookState("banan", {"x": 1}, True, 12.34, "executed")},
        commit="abc1234", data_hash="e" * 64, versions={"pandas": "3.1.1"}, python="3.11.7")
    text = pages.build_info_page(state)
    for expected in ("abc1234", "e" * 64, "3.1.1", "12.3", "executed in this build",
                     pages.WEBFONT_PLACEHOLDER, "../notebooks/banan.html"):
        assert expected in text


def test_commit_description_outside_a_checkout_says_no_git(tmp_path):
    assert pages.commit_description(tmp_path) == "no git"


def test_package_versions_reads_the_pins(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# c\npandas==3.1.1  # note\nno-such-package-xyz==1\n")
    versions = pages.package_versions(requirements)
    assert versions["no-such-package-xyz"] == "not installed"
    assert re.fullmatch(r"\d+\.\d+.*", versions["pandas"])


def test_webfont_numbers_replace_the_placeholder_on_the_built_page(tmp_path):
    from cqbook.build.pages import WEBFONT_PLACEHOLDER, fill_webfont_stats

    page = tmp_path / "book" / "build_info.html"
    page.parent.mkdir()
    page.write_text(f"<p>Chinese web font: {WEBFONT_PLACEHOLDER}</p>", encoding="utf-8")
    fill_webfont_stats(tmp_path, {"family": "Noto Sans CJK SC Subset", "characters": 777,
                                  "glyphs": 778, "bytes": 113_664,
                                  "licence_file": "_static/fonts/LICENSE-NotoSansCJK.txt"})
    text = page.read_text(encoding="utf-8")
    assert "777 characters, 778 glyphs, 111 KiB" in text
    assert 'href="../_static/fonts/LICENSE-NotoSansCJK.txt"' in text
    assert WEBFONT_PLACEHOLDER not in text


def test_the_data_pages_are_kept_by_their_inputs_and_made_again_when_one_changes(tmp_path,
                                                                                   monkeypatch):
    import shutil

    from cqbook.paths import DATA_DIR

    data, kept = tmp_path / "data", tmp_path / "pages"
    shutil.copytree(DATA_DIR, data)
    first = pages.data_pages(data, cache_dir=kept)
    assert first == pages.data_pages(data)  # kept or not, the same pages
    assert len(list(kept.glob("*.json"))) == 1

    made = []

    def noted(name, make):
        return lambda *arguments, **options: made.append(name) or make(*arguments, **options)

    for name, make in pages.DATA_PAGES.items():
        monkeypatch.setitem(pages.DATA_PAGES, name, noted(name, make))
    assert pages.data_pages(data, cache_dir=kept) == first and made == []  # read back

    glossary = data / "glossary.csv"  # the data changed: every page is made again
    glossary.write_text(glossary.read_text(encoding="utf-8").replace(
        "Russia", "Russian Federation"), encoding="utf-8")
    changed = pages.data_pages(data, cache_dir=kept)
    assert made == ["sources", "glossary", "data"] and "Russian Federation" in changed["glossary"]

    made.clear()  # another language is another entry
    assert pages.data_pages(data, "zh", cache_dir=kept) != changed and len(made) == 3

    made.clear()  # an entry that cannot be read back whole is a missing one
    for entry in kept.glob("*.json"):
        entry.write_text('{"sources": "half', encoding="utf-8")
    assert pages.data_pages(data, cache_dir=kept) == changed and len(made) == 3


def test_a_cache_folder_keeps_its_most_recently_used_entries(tmp_path):
    import os

    from cqbook.build.cache import keep_newest

    for age in range(6):  # entry-0 is the newest
        entry = tmp_path / f"entry-{age}.json"
        entry.write_text("{}", encoding="utf-8")
        os.utime(entry, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "other.txt").write_text("kept", encoding="utf-8")
    deleted = keep_newest(tmp_path, "*.json")
    assert sorted(p.name for p in deleted) == ["entry-4.json", "entry-5.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "entry-0.json", "entry-1.json", "entry-2.json", "entry-3.json", "other.txt"]


def test_installed_versions_are_importlibs_read_from_the_headers_only():
    import importlib.metadata

    from cqbook.build.pages import build_info

    expected = {}
    for distribution in importlib.metadata.distributions():
        expected.setdefault(build_info._normalized(distribution.metadata["Name"]),
                            distribution.version)
    assert build_info.installed_versions() == expected
    assert len(expected) > 100
    assert expected["jupyter-book"] == importlib.metadata.version("jupyter-book")
