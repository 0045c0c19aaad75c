"""Every chapter can be read by a reader without Chinese: chart titles and axes carry English,
a Chinese run in the prose has English in its sentence, amounts in 亿元/万元/万人 are also given
in CNY or people, and every chapter hides its parameters cell alike."""

from __future__ import annotations

import chapter_runs as chapter
import matplotlib.pyplot as plt
import pytest

from cqbook.analysis import charts
from cqbook.build.notebook_files import read_notebook
from cqbook.paths import NOTEBOOKS_DIR, REPO_ROOT

CHAPTERS = sorted(path.stem for path in NOTEBOOKS_DIR.glob("*.md"))
BOOK_PAGES = ["book/summary.md", "book/method.md"]


@pytest.fixture
def styled():
    charts.use_book_style()
    yield
    plt.close("all")


# ---------------------------------------------------------------- charts


@pytest.mark.parametrize("spoil", [
    lambda fig, ax: fig.suptitle("投资强度"),
    lambda fig, ax: ax.set_title("项目数"),
    lambda fig, ax: ax.set_xlabel("万元/亩"),
    lambda fig, ax: ax.set_ylabel("累计发运汽车"),
    lambda fig, ax: fig.colorbar(ax.imshow([[0, 1]]), ax=ax, label="提及次数"),
    lambda fig, ax: ax.secondary_xaxis("top").set_xlabel("元/平方米"),
])
def test_a_chart_with_a_chinese_only_title_or_axis_label_is_refused(spoil, styled):
    fig, ax = charts.new_figure("Investment 投资", "test")
    spoil(fig, ax)
    with pytest.raises(charts.ChineseOnlyLabel, match="without English"):
        charts.show(fig)


def test_a_bilingual_chart_is_shown(styled):
    fig, ax = charts.new_figure("投资强度 Investment intensity", "test")
    _ = ax.set_xlabel("元/平方米 (CNY per m²)")
    _ = ax.set_ylabel("项目 projects")
    _ = ax.set_title("Heshun 禾顺")
    charts.show(fig)  # no error


def test_pinyin_counts_as_latin_text():
    assert not charts.chinese_only("亩 (mǔ)")
    assert charts.chinese_only("亩 (m)")  # one letter is a unit, not a word


@pytest.mark.parametrize("notebook", CHAPTERS)
def test_every_chapter_shows_its_charts_through_the_label_check(notebook):
    cells = read_notebook(NOTEBOOKS_DIR / f"{notebook}.md").cells
    code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
    assert "plt.show()" not in code, f"{notebook}: plt.show() skips the label check"
    if "plt.subplots" in code or "chart(" in code:
        assert "show(fig)" in code


# ---------------------------------------------------------------- prose


def test_the_prose_check_finds_a_chinese_sentence_and_allows_quotes():
    assert chinese_sentences("巴南签约了项目。") == ["巴南签约了项目。"]
    assert chinese_sentences("Banan (巴南) signed.") == []
    assert chinese_sentences("The page says “签约32个项目” and 「总投资」 in 《巴南》.") == []
    assert chinese_sentences("> 活动现场签约32个项目") == []  # a block quote is the page's own
    assert chinese_sentences("| 三攻坚一试点 | labour brands |") == ["三攻坚一试点"]
    assert chinese_sentences("Fine. 但这句没有。 Also fine.") == ["但这句没有。"]


def chinese_sentences(markdown):
    return chapter.chinese_without_english(markdown)


def test_the_magnitude_check_wants_cny_or_people_after_an_amount():
    assert chapter.magnitudes_without_english("It is 54亿元 in all.") != []
    assert chapter.magnitudes_without_english("It is 54亿元 (CNY 5.4 bn) in all.") == []
    assert chapter.magnitudes_without_english("About 370 万人 (3.7 million people).") == []
    assert chapter.magnitudes_without_english("The page: “合同投资54亿元”.") == []


def _page_markdown(name: str) -> str:
    if name in CHAPTERS:
        return "\n\n".join(chapter.markdown_cells(name))
    return (REPO_ROOT / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CHAPTERS + BOOK_PAGES)
def test_no_chinese_sentence_without_english(name):
    assert chapter.chinese_without_english(_page_markdown(name)) == []


@pytest.mark.parametrize("name", CHAPTERS + BOOK_PAGES)
def test_every_amount_in_yi_or_wan_is_also_in_cny_or_people(name):
    assert chapter.magnitudes_without_english(_page_markdown(name)) == []


# ---------------------------------------------------------------- parameters cells


@pytest.mark.parametrize("notebook", CHAPTERS)
def test_the_parameters_cell_is_hidden_in_every_chapter(notebook):
    cells = read_notebook(NOTEBOOKS_DIR / f"{notebook}.md").cells
    [parameters] = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert "hide-input" in parameters.metadata["tags"]
