"""The Yongchuan chapter: its defaults are the page's, its headline values follow its
parameters as the analysis says they should, and impossible parameters never reach a kernel."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from pathlib import Path

import nbformat
import pytest

from cqbook import data, reruns
from cqbook.params import ParameterError
from cqbook.paths import NOTEBOOKS_DIR

NOTEBOOK = "yongchuan"


def headlines(folder) -> dict[str, dict]:
    entries = json.loads((folder / "headline_values.json").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in entries}


def glued_texts(folder) -> dict[str, str]:
    """Every value the executed notebook glued for the prose, as the page will print it."""
    notebook = nbformat.read(folder / f"{NOTEBOOK}.ipynb", as_version=4)
    texts = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            plain = [v for k, v in output.get("data", {}).items() if k.endswith("text/plain")]
            if name and plain:
                texts[name] = plain[0].strip("'\"")
    return texts


def chart_outputs(folder) -> list[str]:
    notebook = nbformat.read(folder / f"{NOTEBOOK}.ipynb", as_version=4)
    return [output["data"]["image/svg+xml"] for cell in notebook.cells
            if cell.cell_type == "code" for output in cell.get("outputs", [])
            if "image/svg+xml" in output.get("data", {})]


# ---------------------------------------------------------------- before any kernel


def test_defaults_are_the_page_figures():
    _, _, defaults, changed = reruns.resolve(NOTEBOOK, {}, None)
    shipped = data.figure("yongchuan_vehicles_shipped")
    assert changed == {}
    assert defaults["vehicles_shipped"] == shipped["value"]
    assert f"{defaults['start_date']}/{defaults['as_of_date']}" == shipped["period"]


def test_vehicles_per_train_is_declared_as_an_assumption():
    _, declaration, _, _ = reruns.resolve(NOTEBOOK, {}, None)
    assert "ASSUMPTION" in declaration.parameters["vehicles_per_train"].meaning


def test_as_of_date_before_start_date_is_refused_before_kernel_start():
    with pytest.raises(ParameterError, match="as_of_date") as refused:
        reruns.resolve(NOTEBOOK, {"as_of_date": "2023-04-01"}, None)
    assert "2023-04-01" in str(refused.value) and "start_date" in str(refused.value)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("as_of_date", "2023-04-28", "as_of_date"),  # no day between start and count
    ("projection_end_date", "2023-10-11", "projection_end_date.*2023-10-11.*as_of_date"),
    ("rate_changes_percent", "-100,0", "rate_changes_percent.*-100"),  # stops all shipments
    ("vehicles_per_train", "0", "vehicles_per_train"),
])
def test_impossible_values_are_refused_before_kernel_start(name, value, message):
    with pytest.raises(ParameterError, match=message):
        reruns.resolve(NOTEBOOK, {name: value}, None)


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOKS_DIR / f"{NOTEBOOK}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


# ---------------------------------------------------------------- running the chapter


@pytest.fixture(scope="module")
def runs():
    # Below runs/ (ignored by git): `run` prints its folder relative to the repository.
    reruns.RUNS_DIR.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="test-yongchuan-", dir=reruns.RUNS_DIR))
    yield {
        "default": reruns.run(NOTEBOOK, {}, output_root=root),
        "doubled": reruns.run(NOTEBOOK, {"vehicles_shipped": "25404"}, output_root=root),
        "exclusive": reruns.run(NOTEBOOK, {"days_inclusive": "false",
                                           "projection_end_date": "2024-04-27",
                                           "rate_changes_percent": "-50,10"},
                                output_root=root),
    }
    shutil.rmtree(root)


@pytest.mark.slow
def test_default_run_records_the_headline_values_of_the_page(runs):
    values = {name: entry["value"] for name, entry in headlines(runs["default"]).items()}
    assert values["yongchuan_days_in_operation"] == 167  # 28 April to 11 October, both counted
    assert values["yongchuan_vehicles_per_day"] == pytest.approx(12702 / 167)
    assert values["yongchuan_vehicles_per_week"] == pytest.approx(12702 / 167 * 7)
    assert values["yongchuan_projection_days"] == 81
    assert values["yongchuan_projection_same_rate"] == pytest.approx(12702 + 12702 / 167 * 81)
    assert values["yongchuan_export_destinations_named"] == 3
    assert headlines(runs["default"])["yongchuan_export_destinations_named"]["bound"] == "lower"


@pytest.mark.slow
def test_doubling_vehicles_doubles_every_average_and_leaves_the_days(runs):
    default, doubled = headlines(runs["default"]), headlines(runs["doubled"])
    assert doubled["yongchuan_days_in_operation"]["value"] == default[
        "yongchuan_days_in_operation"]["value"]
    for name in ("yongchuan_vehicles_per_day", "yongchuan_vehicles_per_week",
                 "yongchuan_vehicles_per_month", "yongchuan_trains_implied",
                 "yongchuan_projection_same_rate", "yongchuan_projection_lowest",
                 "yongchuan_projection_highest"):
        assert doubled[name]["value"] == pytest.approx(2 * default[name]["value"]), name


@pytest.mark.slow
def test_exclusive_count_and_later_end_date_change_days_rates_and_projections(runs):
    values = {name: entry["value"] for name, entry in headlines(runs["exclusive"]).items()}
    per_day = 12702 / 166
    ahead = (date(2024, 4, 27) - date(2023, 10, 11)).days
    assert values["yongchuan_days_in_operation"] == 166
    assert values["yongchuan_vehicles_per_day"] == pytest.approx(per_day)
    assert values["yongchuan_projection_days"] == ahead
    assert values["yongchuan_projection_lowest"] == pytest.approx(12702 + per_day * 0.5 * ahead)
    assert values["yongchuan_projection_highest"] == pytest.approx(12702 + per_day * 1.1 * ahead)


@pytest.mark.slow
def test_text_and_charts_follow_the_parameters(runs):
    default, doubled = glued_texts(runs["default"]), glued_texts(runs["doubled"])
    exclusive = glued_texts(runs["exclusive"])
    assert "uses the page's dates and count" in default["yongchuan_run_note"]
    assert "vehicles_shipped = 25404 (page: 12702)" in doubled["yongchuan_run_note"]
    assert doubled["yongchuan_vehicles_per_day_text"] == "152.1 vehicles a day"
    assert default["yongchuan_counting_rule"].startswith("counting both")
    assert exclusive["yongchuan_counting_rule"].startswith("counting the difference")
    assert exclusive["yongchuan_projection_end_text"] == "27 April 2024"
    assert exclusive["yongchuan_days_in_operation_text"] == "166 days"
    default_charts = chart_outputs(runs["default"])
    assert len(default_charts) == 2
    assert chart_outputs(runs["doubled"])[0] != default_charts[0]  # the cumulative chart
    assert chart_outputs(runs["exclusive"])[0] != default_charts[0]
