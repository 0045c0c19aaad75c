"""The across-the-page chapter and the book's summary: the day's two signing rounds are added
up as printed, a tie at the top of the themes is shown as a tie, and the summary's rows say
what their values are."""

from __future__ import annotations

import chapter_runs as chapter
import pytest

from cqbook.paths import BOOK_DIR

runs = chapter.runs_fixture("summary_charts", {"default": {},
                                               "one_theme": {"themes": "储能,就业"}})
default_run = chapter.headlines_fixture("default")
one_theme_run = chapter.headlines_fixture("one_theme")


@pytest.mark.slow
def test_the_day_adds_both_rounds_as_printed(default_run):
    assert default_run["summary_day_projects"]["value"] == 27 + 32
    assert default_run["summary_day_investment"]["value"] == pytest.approx(206 + 178)
    assert default_run["summary_day_investment"]["text"] == "384 亿元 (CNY 38.4 bn)"
    assert default_run["summary_day_average"]["value"] == pytest.approx(384 / 59)


@pytest.mark.slow
def test_a_tie_at_the_top_is_shown_as_a_tie(default_run):
    tied = default_run["summary_top_themes_tied"]["value"]
    top = default_run["summary_top_theme"]["value"].split("、")
    assert len(top) == tied
    assert tied > 1  # on this page several themes share the top count of articles
    assert "智能网联新能源汽车" in top


@pytest.mark.slow
def test_no_recurring_theme_means_no_top_theme(one_theme_run):
    # 储能 is written in Tongliang's article only, 就业 in the employment article only.
    assert one_theme_run["summary_recurring_themes"]["value"] == 0
    assert one_theme_run["summary_top_theme"]["value"] == "none"
    assert one_theme_run["summary_top_themes_tied"]["value"] == 0


def summary() -> str:
    return " ".join((BOOK_DIR / "summary.md").read_text(encoding="utf-8").split())


def test_the_yongchuan_row_does_not_date_the_count_to_the_photo():
    text = summary()
    assert "28 April to 11 October" not in text
    assert "since 28 April, domestic and export (reported with a photo of 11 October)" in text


def test_the_reuse_group_intensity_is_per_m2_of_floor_space_never_per_mu():
    text = summary()
    assert "banan_reuse_group_per_mu" not in text
    assert "per m² of floor space | {glue:text}`/notebooks/banan.ipynb::banan_reuse_group_per_m2_text:s`" in text


def test_the_summary_gives_the_days_combined_signing_figures():
    text = summary()
    assert "summary_charts.ipynb::summary_day_projects_text" in text
    assert "summary_charts.ipynb::summary_day_investment_text" in text


@pytest.mark.slow
def test_like_for_like_keeps_tongliangs_ceiling_a_ceiling(runs, default_run):
    ratio = default_run["summary_tongliang_other_vs_reuse"]
    assert ratio["value"] == pytest.approx((156 / 23) / (54 / 23))
    assert ratio["bound"] == "less_than"
    chapter.assert_sources_linked(runs["default"], [
        "tongliang_vehicle_parts_investment", "banan_large_projects",
        "banan_reuse_contract_investment"])
