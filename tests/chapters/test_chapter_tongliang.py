"""The Tongliang chapter: its defaults are the page's, the vehicle-parts bound stays a bound,
the headline values follow the parameters, and a broken bound never reaches a kernel."""

from __future__ import annotations

import chapter_runs as chapter
import pytest

from cqbook.build import reruns
from cqbook.dataset import package

NOTEBOOK = "tongliang"
PAGE_FIGURES = ["tongliang_investment_total", "tongliang_projects_signed",
                "tongliang_vehicle_parts_investment", "tongliang_vehicle_parts_projects"]


# ---------------------------------------------------------------- before any kernel


def test_defaults_are_the_page_figures():
    _, declaration, defaults, changed = reruns.resolve(NOTEBOOK, {}, None)
    assert changed == {}
    assert defaults["projects_signed"] == package.figure("tongliang_projects_signed")["value"]
    assert defaults["investment_total_yi"] == package.figure("tongliang_investment_total")["value"]
    assert defaults["vehicle_parts_projects"] == package.figure(
        "tongliang_vehicle_parts_projects")["value"]
    bound = package.figure("tongliang_vehicle_parts_investment")
    assert bound["qualifier"] == "more_than"
    assert defaults["vehicle_parts_bound_yi"] == bound["value"]
    # 超过 is "more than": the bound itself is excluded, so the assumption lies above it.
    assert defaults["vehicle_parts_assumed_yi"] > defaults["vehicle_parts_bound_yi"]
    assert "ASSUMPTION" in declaration.parameters["vehicle_parts_assumed_yi"].meaning


def test_assumed_value_is_held_between_the_bound_and_the_total():
    _, declaration, _, _ = reruns.resolve(NOTEBOOK, {}, None)
    rules = {(r.op, r.operand) for r in declaration.parameters["vehicle_parts_assumed_yi"].rules}
    assert (">", "vehicle_parts_bound_yi") in rules
    assert ("<=", "investment_total_yi") in rules


@pytest.mark.parametrize(("values", "message"), [
    ({"vehicle_parts_assumed_yi": "40"}, "vehicle_parts_assumed_yi.*40.*vehicle_parts_bound_yi"),
    ({"vehicle_parts_assumed_yi": "50"}, "vehicle_parts_assumed_yi.*50.*vehicle_parts_bound_yi"),
    ({"vehicle_parts_assumed_yi": "250"}, "vehicle_parts_assumed_yi.*250.*investment_total_yi"),
    ({"investment_total_yi": "45"}, "investment_total_yi"),  # less than the bound alone
    ({"vehicle_parts_projects": "27"}, "vehicle_parts_projects.*27.*projects_signed"),
    ({"projects_signed": "3"}, "projects_signed"),  # fewer than the vehicle-parts group
])
def test_a_broken_bound_is_refused_before_kernel_start(values, message, monkeypatch):
    chapter.assert_values_refused_before_kernel(NOTEBOOK, values, message, monkeypatch)


def test_notebook_is_stored_without_outputs():
    chapter.assert_stored_without_outputs(NOTEBOOK)


# ---------------------------------------------------------------- running the chapter


runs = chapter.runs_fixture(NOTEBOOK, {
    "default": {},
    "assumed": {"vehicle_parts_assumed_yi": "100"},
    "doubled": {"investment_total_yi": "412"},
    "one_part": {"vehicle_parts_projects": "1", "projects_signed": "2"},
})


@pytest.mark.slow
def test_default_run_keeps_the_bound_a_bound(runs):
    entries = chapter.headlines(runs["default"])
    values = {name: entry["value"] for name, entry in entries.items()}
    assert values["tongliang_investment_per_project"] == pytest.approx(206 / 27)
    assert values["tongliang_vehicle_parts_project_share"] == pytest.approx(400 / 27)
    assert values["tongliang_vehicle_parts_investment_share"] == pytest.approx(5000 / 206)
    assert entries["tongliang_vehicle_parts_investment_share"]["text"] == "> 24.3%"
    assert values["tongliang_other_average"] == pytest.approx(156 / 23)
    assert entries["tongliang_other_average"]["bound"] == "less_than"
    assert entries["tongliang_vehicle_parts_average"]["bound"] == "more_than"
    assert values["tongliang_fields_named"] == 5
    assert entries["tongliang_fields_named"]["bound"] == "lower"  # 等多个领域: and others
    assert entries["tongliang_other_average"]["text"] == "< 6.78 亿元 (< CNY 678 m)"
    assert values["tongliang_value_chain_stages"] == 6
    assert values["tongliang_storage_firms_named"] == 5


@pytest.mark.slow
def test_a_larger_assumed_value_lowers_only_the_assumed_average(runs):
    default, assumed = chapter.headlines(runs["default"]), chapter.headlines(runs["assumed"])
    assert assumed["tongliang_other_average_assumed"]["value"] == pytest.approx(106 / 23)
    for name in ("tongliang_other_average", "tongliang_vehicle_parts_investment_share",
                 "tongliang_investment_per_project"):
        assert assumed[name]["value"] == pytest.approx(default[name]["value"]), name
    assert "assumed at 100 亿元" in chapter.glued_texts(runs["assumed"])["tongliang_run_note"]
    assert "assumed at 60 亿元" in chapter.glued_texts(runs["default"])["tongliang_run_note"]


@pytest.mark.slow
def test_doubling_the_total_doubles_the_average_and_halves_the_bounded_share(runs):
    default, doubled = chapter.headlines(runs["default"]), chapter.headlines(runs["doubled"])
    assert doubled["tongliang_investment_per_project"]["value"] == pytest.approx(
        2 * default["tongliang_investment_per_project"]["value"])
    assert doubled["tongliang_vehicle_parts_investment_share"]["value"] == pytest.approx(
        default["tongliang_vehicle_parts_investment_share"]["value"] / 2)
    assert doubled["tongliang_other_average"]["value"] == pytest.approx((412 - 50) / 23)
    texts = chapter.glued_texts(runs["doubled"])
    assert "investment_total_yi = 412 (page: 206)" in texts["tongliang_run_note"]
    assert texts["tongliang_total_text"] == "412 亿元 (CNY 41.2 bn)"


@pytest.mark.slow
def test_counts_of_one_take_the_singular(runs):
    texts = chapter.glued_texts(runs["one_part"])
    assert texts["tongliang_vehicle_parts_projects_text"] == "1 project"
    assert texts["tongliang_other_projects_text"] == "1 project"
    assert chapter.headlines(runs["one_part"])["tongliang_projects_signed"]["text"] == "2 projects"


@pytest.mark.slow
def test_xinhong_is_drawn_as_signed_like_the_other_signed_items(runs):
    tables = "".join(chapter.html_outputs(runs["default"]))
    assert "北京芯虹: 充换电基础设施制造 (签约 signed)" in tables
    assert "planned" not in tables.split("北京芯虹", 1)[1].split("</td>", 1)[0]


@pytest.mark.slow
def test_charts_follow_the_parameters(runs):
    default_charts = chapter.chart_outputs(runs["default"])
    assert len(default_charts) == 3
    assumed_charts = chapter.chart_outputs(runs["assumed"])
    assert assumed_charts[1] != default_charts[1]  # the sensitivity chart marks the assumption
    assert assumed_charts[2] == default_charts[2]  # the value chain does not depend on it
    assert chapter.chart_outputs(runs["doubled"])[0] != default_charts[0]  # the money share halves


@pytest.mark.slow
def test_every_page_figure_links_to_its_sentence_on_the_sources_page(runs):
    chapter.assert_sources_linked(runs["default"], PAGE_FIGURES)
