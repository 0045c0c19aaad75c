"""The Yongchuan chapter: its defaults are the page's, its headline values follow its
parameters as the analysis says they should, and impossible parameters never reach a kernel."""

from __future__ import annotations

from datetime import date

import chapter_runs as chapter
import pytest

from cqbook.build import reruns
from cqbook.dataset import package

NOTEBOOK = "yongchuan"


# ---------------------------------------------------------------- before any kernel


def test_defaults_are_the_page_figures():
    _, _, defaults, changed = reruns.resolve(NOTEBOOK, {}, None)
    shipped = package.figure("yongchuan_vehicles_shipped")
    assert changed == {}
    assert defaults["vehicles_shipped"] == shipped["value"]
    assert f"{defaults['start_date']}/{defaults['as_of_date']}" == shipped["period"]


def test_vehicles_per_train_is_declared_as_an_assumption():
    _, declaration, _, _ = reruns.resolve(NOTEBOOK, {}, None)
    assert "ASSUMPTION" in declaration.parameters["vehicles_per_train"].meaning


def test_as_of_date_before_start_date_is_refused_before_kernel_start(monkeypatch):
    refused = chapter.assert_values_refused_before_kernel(NOTEBOOK, {"as_of_date": "2023-04-01"},
                                                  "as_of_date", monkeypatch)
    assert "2023-04-01" in str(refused) and "start_date" in str(refused)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("as_of_date", "2023-04-28", "as_of_date"),  # no day between start and count
    ("projection_end_date", "2023-10-11", "projection_end_date.*2023-10-11.*as_of_date"),
    ("rate_changes_percent", "-100,0", "rate_changes_percent.*-100"),  # stops all shipments
    ("vehicles_per_train", "0", "vehicles_per_train"),
])
def test_impossible_values_are_refused_before_kernel_start(name, value, message, monkeypatch):
    chapter.assert_values_refused_before_kernel(NOTEBOOK, {name: value}, message, monkeypatch)


def test_notebook_is_stored_without_outputs():
    chapter.assert_stored_without_outputs(NOTEBOOK)


# ---------------------------------------------------------------- running the chapter


runs = chapter.runs_fixture(NOTEBOOK, {
    "default": {},
    "doubled": {"vehicles_shipped": "25404"},
    "exclusive": {"days_inclusive": "false", "projection_end_date": "2024-04-27",
                  "rate_changes_percent": "-50,10",
                  # one vehicle a train: the nouns of a count of one are singular
                  "vehicles_per_train": "1"},
})


@pytest.mark.slow
def test_default_run_records_the_headline_values_of_the_page(runs):
    values = {name: entry["value"] for name, entry in chapter.headlines(runs["default"]).items()}
    assert values["yongchuan_days_in_operation"] == 167  # 28 April to 11 October, both counted
    assert values["yongchuan_vehicles_per_day"] == pytest.approx(12702 / 167)
    assert values["yongchuan_vehicles_per_week"] == pytest.approx(12702 / 167 * 7)
    assert values["yongchuan_projection_days"] == 81
    assert values["yongchuan_projection_same_rate"] == pytest.approx(12702 + 12702 / 167 * 81)
    assert values["yongchuan_export_destinations_named"] == 3
    assert chapter.headlines(runs["default"])["yongchuan_export_destinations_named"]["bound"] == "lower"


@pytest.mark.slow
def test_doubling_vehicles_doubles_every_average_and_leaves_the_days(runs):
    default, doubled = chapter.headlines(runs["default"]), chapter.headlines(runs["doubled"])
    assert doubled["yongchuan_days_in_operation"]["value"] == default[
        "yongchuan_days_in_operation"]["value"]
    for name in ("yongchuan_vehicles_per_day", "yongchuan_vehicles_per_week",
                 "yongchuan_vehicles_per_month", "yongchuan_trains_implied",
                 "yongchuan_projection_same_rate", "yongchuan_projection_lowest",
                 "yongchuan_projection_highest"):
        assert doubled[name]["value"] == pytest.approx(2 * default[name]["value"]), name


@pytest.mark.slow
def test_exclusive_count_and_later_end_date_change_days_rates_and_projections(runs):
    values = {name: entry["value"] for name, entry in chapter.headlines(runs["exclusive"]).items()}
    per_day = 12702 / 166
    ahead = (date(2024, 4, 27) - date(2023, 10, 11)).days
    assert values["yongchuan_days_in_operation"] == 166
    assert values["yongchuan_vehicles_per_day"] == pytest.approx(per_day)
    assert values["yongchuan_projection_days"] == ahead
    assert values["yongchuan_projection_lowest"] == pytest.approx(12702 + per_day * 0.5 * ahead)
    assert values["yongchuan_projection_highest"] == pytest.approx(12702 + per_day * 1.1 * ahead)


@pytest.mark.slow
def test_text_and_charts_follow_the_parameters(runs):
    default, doubled = chapter.glued_texts(runs["default"]), chapter.glued_texts(runs["doubled"])
    exclusive = chapter.glued_texts(runs["exclusive"])
    assert default["yongchuan_vehicles_per_train_text"] == "120 vehicles"
    assert exclusive["yongchuan_vehicles_per_train_text"] == "1 vehicle"
    assert "uses the page's dates and count" in default["yongchuan_run_note"]
    assert "vehicles_shipped = 25404 (page: 12702)" in doubled["yongchuan_run_note"]
    assert doubled["yongchuan_vehicles_per_day_text"] == "152.1 vehicles a day"
    assert default["yongchuan_counting_rule"].startswith("counting both")
    assert exclusive["yongchuan_counting_rule"].startswith("counting the difference")
    assert exclusive["yongchuan_projection_end_text"] == "27 April 2024"
    assert exclusive["yongchuan_days_in_operation_text"] == "166 days"
    default_charts = chapter.chart_outputs(runs["default"])
    assert len(default_charts) == 2
    assert chapter.chart_outputs(runs["doubled"])[0] != default_charts[0]  # the cumulative chart
    assert chapter.chart_outputs(runs["exclusive"])[0] != default_charts[0]


@pytest.mark.slow
def test_the_page_figure_links_to_its_sentence_on_the_sources_page(runs):
    chapter.assert_sources_linked(runs["default"], ["yongchuan_vehicles_shipped"])
