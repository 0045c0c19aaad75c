"""Headline values: what `record` writes is glue that myst-nb reads, and the build collects."""

from __future__ import annotations

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from myst_nb.ext.glue import extract_glue_data

from cqbook.analysis import headlines
from cqbook.analysis.bounds import Bounds
from cqbook.analysis.headlines import collect, record, recorded, recorded_bounds


@pytest.fixture
def recorded_outputs(monkeypatch):
    """Capture what `record` displays, as a kernel would put it in the notebook."""
    outputs = []

    def fake_display(bundle, raw, metadata):
        outputs.append(nbformat.v4.new_output("display_data", data=bundle, metadata=metadata))

    monkeypatch.setattr("IPython.display.display", fake_display)
    InteractiveShell.instance()
    return outputs


def notebook_with(outputs):
    cell = nbformat.v4.new_code_cell("record(...)", outputs=outputs)
    return nbformat.v4.new_notebook(cells=[cell])


class _Logger:
    def warning(self, *args, **kwargs):
        raise AssertionError(args)


def test_myst_nb_reads_the_value_and_its_text(recorded_outputs):
    import numpy as np

    record("vehicles_per_day", np.float64(76.5), unit="辆", bound="approx")
    glue = extract_glue_data(notebook_with(recorded_outputs), [0], _Logger())
    assert glue["vehicles_per_day"]["data"] == {"text/plain": "76.5"}
    assert glue["vehicles_per_day_text"]["data"] == {"text/plain": "'≈ 76.5 辆'"}


def test_the_build_collects_value_unit_bound_and_text(recorded_outputs):
    record("parts_investment", 5e9, unit="CNY", bound="more_than", label="vehicle parts")
    record("as_of", "2023-10-11")
    assert collect(notebook_with(recorded_outputs)) == [
        {"name": "parts_investment", "value": 5e9, "unit": "CNY", "bound": "more_than",
         "label": "vehicle parts", "text": "> 5,000,000,000 CNY"},
        {"name": "as_of", "value": "2023-10-11", "unit": "", "bound": "exact", "label": "",
         "text": "2023-10-11"}]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_values_are_refused(recorded_outputs, value):
    with pytest.raises(ValueError, match="not a finite number"):
        record("broken", value)


def test_a_bounds_value_records_its_number_and_its_bound(recorded_outputs):
    record("other_average", Bounds(None, 6.78, high_strict=True), unit="亿元", digits=2)
    [headline] = collect(notebook_with(recorded_outputs))
    assert (headline["value"], headline["bound"], headline["text"]) == (
        6.78, "less_than", "< 6.78 亿元 (< CNY 678 m)")


def test_a_text_for_the_prose_is_glued_under_its_name_and_is_no_headline(recorded_outputs):
    record("run_note", "This run uses the page's counts.", headline=False)
    notebook = notebook_with(recorded_outputs)
    glue = extract_glue_data(notebook, [0], _Logger())
    assert list(glue) == ["run_note"]
    assert glue["run_note"]["data"] == {"text/plain": '"This run uses the page\'s counts."'}
    assert collect(notebook) == []
    with pytest.raises(TypeError, match="only a text"):
        record("count", 3, headline=False)


def test_a_chapter_reads_back_what_another_recorded(tmp_path, monkeypatch):
    results = tmp_path / "headline_values.csv"
    results.write_text("notebook,kind,name,value,unit,bound,text,label\n"
                       "tongliang,headline,tongliang_other_average,6.78260869565,亿元,less_than,"
                       "< 6.78 亿元,average\n", encoding="utf-8")
    monkeypatch.setattr(headlines, "RESULTS_CSV", results)
    assert recorded("tongliang", "tongliang_other_average") == 6.78260869565
    ceiling = recorded_bounds("tongliang", "tongliang_other_average")
    assert (ceiling.high, ceiling.headline_bound) == (6.78260869565, "less_than")
    with pytest.raises(KeyError, match="banan records no headline value 'x'"):
        recorded("banan", "x")


def test_the_averages_the_summary_reads_are_committed():
    assert recorded("tongliang", "tongliang_investment_per_project") == pytest.approx(206 / 27)
    assert recorded("banan", "banan_reuse_average_per_project") == pytest.approx(54 / 23)


def test_unknown_bound_is_refused(recorded_outputs):
    with pytest.raises(ValueError, match="bound 'roughly'"):
        record("x", 1, bound="roughly")
