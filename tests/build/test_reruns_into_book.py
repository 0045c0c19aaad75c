"""`cqbook run NB -p … --into-book`: the values go into params/book.yml (shown as a diff), the
notebook is executed once, by the book's own build, and the next build keeps them.

The build tests share one fixture-book build (conftest's built_fixture_repo); each test works
on its own copy of it.
"""

from __future__ import annotations

import json

import pytest
from conftest import cqbook, executed_notebooks

from cqbook.build.reruns import book_file_with

HEADER = "# Parameters of the book.\n# Two lines of comment.\n"


@pytest.mark.parametrize("before, values, after", [
    (HEADER + "alpha: {}\n", {"factor": 7}, HEADER + "alpha:\n  factor: 7\n"),
    (HEADER + "alpha:\n  factor: 3  # three\nbeta: {}\n", {"factor": 7},
     HEADER + "alpha:\n  factor: 7\nbeta: {}\n"),
    (HEADER + "alpha:\n  factor: 3\n\n# beta's own comment\nbeta:\n  label: x\n", {},
     HEADER + "alpha: {}\n\n# beta's own comment\nbeta:\n  label: x\n"),
    (HEADER + "beta: {label: x}", {"d": "2023-12-31", "xs": [-20.0, 0.5], "flag": True},
     HEADER + 'beta: {label: x}\nalpha:\n  d: "2023-12-31"\n  xs: [-20.0, 0.5]\n'
     "  flag: true\n"),
    (None, {"factor": 7}, None),
])
def test_book_file_changes_only_the_notebooks_entry(before, values, after):
    written = book_file_with(before, "alpha", values)
    if after is None:
        assert written.startswith("# Parameters the published book is built with")
        assert written.endswith("alpha:\n  factor: 7\n")
    else:
        assert written == after


def test_values_written_read_back_as_the_same_values(tmp_path):
    from cqbook.build import params

    declaration = params.parse_declaration(
        'd = "2023-10-11"  # date, min 2000-01-01, max 2030-12-31; a day\n'
        "xs = [0.5]  # list[float], min -100, max 100, len 1..3; shares\n"
        'label = "x"  # str; a label\nflag = True  # bool; a flag\n'
        "n = 3  # int, min 0, max 99; a count", "alpha")
    values = {"d": "2023-12-31", "xs": [-20.0, 0.25], "label": "NO", "flag": False, "n": 12}
    path = tmp_path / "book.yml"
    path.write_text(book_file_with(None, "alpha", values))
    assert params.validate(declaration, params.read_parameter_file(path)["alpha"]) == values


@pytest.mark.slow
def test_into_book_writes_book_yml_executes_once_and_the_next_build_keeps_it(fixture_repo):
    before = (fixture_repo / "params" / "book.yml").read_text()
    result = cqbook(fixture_repo, "run", "alpha", "-p", "factor", "7", "--into-book")
    assert result.returncode == 0, result.stdout + result.stderr
    # The change, shown as a diff, and made.
    assert "--- a/params/book.yml" in result.stdout and "+alpha:" in result.stdout
    assert "+  factor: 7" in result.stdout and "-alpha: {}" in result.stdout
    after = (fixture_repo / "params" / "book.yml").read_text()
    assert after == before.replace("alpha: {}\n", "alpha:\n  factor: 7\n")
    # Executed once, by the build; the run folder and page come from that execution.
    assert executed_notebooks(result.stdout) == {"alpha"}
    assert result.stdout.count("executed in") == 0
    folder = fixture_repo / "runs" / "alpha__factor=7"
    assert json.loads((folder / "headline_values.json").read_text())[0]["value"] == 147
    assert (folder / "index.html").exists() and "147" in (folder / "index.html").read_text()
    published = json.loads((fixture_repo / "_build" / "headline_values.json").read_text())
    assert published["alpha"][0]["value"] == 147

    again = cqbook(fixture_repo, "build")
    assert again.returncode == 0, again.stdout + again.stderr
    assert executed_notebooks(again.stdout) == set()
    assert "alpha                    up to date" in again.stdout
    kept = json.loads((fixture_repo / "_build" / "headline_values.json").read_text())
    assert kept["alpha"][0]["value"] == 147
    page = (fixture_repo / "_build" / "html" / "notebooks" / "alpha.html").read_text()
    assert "not the defaults" in page


@pytest.mark.slow
def test_into_book_refuses_a_bad_value_before_writing_anything(fixture_repo):
    before = (fixture_repo / "params" / "book.yml").read_text()
    result = cqbook(fixture_repo, "run", "alpha", "-p", "factor", "0", "--into-book")
    assert result.returncode == 2
    assert "`factor` = 0 breaks the rule" in result.stderr and "Traceback" not in result.stderr
    assert (fixture_repo / "params" / "book.yml").read_text() == before


@pytest.mark.slow
def test_a_failed_build_puts_book_yml_back(fixture_repo):
    before = (fixture_repo / "params" / "book.yml").read_text()
    notebook = fixture_repo / "notebooks" / "alpha.ipynb"
    notebook.write_text(notebook.read_text().replace("base_count = 21", "base_count = 21 / 0"))
    result = cqbook(fixture_repo, "run", "alpha", "-p", "factor", "7", "--into-book")
    assert result.returncode == 2
    assert "ZeroDivisionError" in result.stderr and "restored as it was" in result.stderr
    assert (fixture_repo / "params" / "book.yml").read_text() == before
