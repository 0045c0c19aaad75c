"""The build, through the real command line, on the fixture book: incremental, atomic,
and honest about failures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO, cqbook, executed_notebooks

pytestmark = pytest.mark.slow


def published_folder(repo):
    return (repo / "_build" / "html").resolve()


def page_text(path) -> str:
    """What a reader reads: the page without its tags (Chinese runs are wrapped in
    `<span lang="zh-Hans">`)."""
    return re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))


def test_first_build_publishes_every_page_and_collects_headlines(built_fixture_repo):
    html = built_fixture_repo / "_build" / "html"
    assert (html / "index.html").exists()
    for page in ("notebooks/alpha.html", "notebooks/beta.html"):
        assert (html / page).exists()
    # The glued value reached the prose page.
    assert "42 个" in page_text(html / "book" / "index.html")
    headlines = json.loads((built_fixture_repo / "_build" / "headline_values.json").read_text())
    assert headlines["alpha"][0]["name"] == "alpha_product"
    assert headlines["alpha"][0]["value"] == 42


def test_rebuild_with_nothing_changed_executes_nothing_and_skips_sphinx(fixture_repo):
    before = published_folder(fixture_repo)
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stderr
    assert executed_notebooks(result.stdout) == set()
    assert "no notebook executed" in result.stdout
    assert "Sphinx skipped" in result.stdout
    assert published_folder(fixture_repo) == before


def _touch_notebook(repo, name):
    path = repo / "notebooks" / f"{name}.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"][0]["source"] += "\n\nEdited."
    path.write_text(json.dumps(notebook, indent=1))


@pytest.mark.parametrize("change, expected", [
    (lambda repo: _touch_notebook(repo, "beta"), {"beta"}),
    (lambda repo: (repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n"), {"alpha"}),
    (lambda repo: (repo / "data" / "README.md").write_text("changed\n"), {"alpha", "beta"}),
    (lambda repo: (repo / "cqbook" / "units.py").open("a").write("\n# changed\n"),
     {"alpha", "beta"}),
    (lambda repo: (repo / "requirements.txt").open("a").write("# changed\n"), {"alpha", "beta"}),
], ids=["own-source", "own-parameters", "data", "package", "requirements"])
def test_each_kind_of_change_reexecutes_exactly_what_depends_on_it(fixture_repo, change,
                                                                    expected):
    change(fixture_repo)
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert executed_notebooks(result.stdout) == expected


def test_parameters_from_the_book_file_reach_the_notebook(fixture_repo):
    (fixture_repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n")
    assert cqbook(fixture_repo, "build").returncode == 0
    headlines = json.loads((fixture_repo / "_build" / "headline_values.json").read_text())
    assert headlines["alpha"][0]["value"] == 63
    assert "63 个" in page_text(fixture_repo / "_build" / "html" / "book" / "index.html")


def test_failing_cell_keeps_the_previous_book_and_names_notebook_and_cell(fixture_repo):
    before = published_folder(fixture_repo)
    index_before = (before / "index.html").read_bytes()
    path = fixture_repo / "notebooks" / "beta.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"][3]["source"] = "ratio = 1 / 0\nprint(ratio)"
    path.write_text(json.dumps(notebook, indent=1))

    result = cqbook(fixture_repo, "build")

    assert result.returncode != 0
    assert "beta.ipynb: cell 3 (`ratio = 1 / 0`): ZeroDivisionError" in result.stderr
    assert "published book is unchanged" in result.stderr
    assert published_folder(fixture_repo) == before
    assert (before / "index.html").read_bytes() == index_before
    assert (fixture_repo / "_build" / "failures" / "beta.ipynb").exists()


def test_sphinx_failure_keeps_the_previous_book(fixture_repo):
    before = published_folder(fixture_repo)
    (fixture_repo / "book" / "index.md").write_text("# Fixture\n\n{doc}`no-such-page`\n")
    result = cqbook(fixture_repo, "build")
    assert result.returncode != 0
    assert "Sphinx refused the book" in result.stderr and "no-such-page" in result.stderr
    assert published_folder(fixture_repo) == before


def test_run_writes_executed_notebook_html_page_and_headlines(fixture_repo):
    result = cqbook(fixture_repo, "run", "alpha", "-p", "factor", "5")
    assert result.returncode == 0, result.stderr
    folder = fixture_repo / "runs" / "alpha__factor=5"
    assert json.loads((folder / "parameters.json").read_text()) == {"factor": 5}
    assert json.loads((folder / "headline_values.json").read_text())[0]["value"] == 105
    assert "alpha_product" in result.stdout and "105 个" in result.stdout
    assert "105" in (folder / "index.html").read_text()  # the chapter as the book shows it
    assert (folder / "alpha.ipynb").exists()


def test_the_run_pages_jupyter_book_starts_without_compiling_the_iri_grammar():
    # jupyter-book's config imports jsonschema, whose optional rfc3987_syntax compiles a Lark
    # grammar at import (0.9 s a page); the package's own import, first, keeps it out.
    from cqbook.build.run_page import JUPYTER_BOOK

    started = JUPYTER_BOOK.removesuffix("main()")
    probe = started + "import jsonschema, sys; print(sorted({'jsonschema', 'lark'} & set(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                               text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert completed.stdout.split("\n")[0] == "['jsonschema']"


def test_run_does_not_touch_the_published_book(fixture_repo):
    before = published_folder(fixture_repo)
    assert cqbook(fixture_repo, "run", "alpha", "-p", "factor", "5").returncode == 0
    assert published_folder(fixture_repo) == before


def test_sweep_writes_one_row_per_run(fixture_repo):
    result = cqbook(fixture_repo, "sweep", "alpha", "-p", "factor", "1", "2", "3")
    assert result.returncode == 0, result.stderr
    tables = list((fixture_repo / "sweeps").glob("alpha__factor__*/results.csv"))
    assert len(tables) == 1
    assert tables[0].read_text().splitlines() == [
        "run,factor,alpha_product,alpha_vehicles",
        "0,1,21,12702.0", "1,2,42,12702.0", "2,3,63,12702.0"]


@pytest.mark.parametrize("arguments, message", [
    (["run", "alpha", "-p", "facter", "2"], "unknown parameter `facter` (command line); did you mean `factor`"),
    (["run", "alpha", "-p", "factor", "0"], "`factor` = 0 breaks the rule: must be >= 1"),
    (["run", "alpha", "-p", "factor", "two"], "'two' is not a valid int"),
    (["sweep", "alpha", "-p", "factor", "1", "2000"], "`factor` = 2000 breaks the rule"),
    (["run", "gamma"], "no notebook named `gamma`"),
])
def test_bad_parameters_are_refused_before_any_kernel_starts(fixture_repo, arguments, message):
    result = cqbook(fixture_repo, *arguments)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (fixture_repo / "runs").exists() and not (fixture_repo / "sweeps").exists()
    assert "Kernel" not in result.stderr  # no kernel was started


def test_params_lists_each_parameter_with_rule_default_and_meaning(fixture_repo):
    result = cqbook(fixture_repo, "params", "alpha")
    assert result.returncode == 0
    assert "factor (int, >= 1, <= 1000) = 2" in result.stdout
    assert "what the base count is multiplied by" in result.stdout


def _text_notebook(folder, name: str, code: str):
    path = folder / f"{name}.md"
    path.write_text(f"---\njupytext:\n  text_representation:\n    format_name: myst\n---\n"
                    f"# {name}\n\n```{{code-cell}} ipython3\n{code}\n```\n", encoding="utf-8")
    return path


def _jobs(tmp_path, codes: dict[str, str]):
    from cqbook.build.pipeline import NotebookJob

    return [NotebookJob(name, _text_notebook(tmp_path, name, code), {}, {})
            for name, code in codes.items()]


def test_a_notebook_that_reads_recorded_values_runs_in_a_wave_after_them(tmp_path):
    from cqbook.build.pipeline import execution_waves

    jobs = _jobs(tmp_path, {
        "summary": 'x = recorded_bounds("tongliang", "a") / recorded( "banan" , "b")',
        "tongliang": "record('a', 1)", "banan": "record('b', 2)",
        "later": "y = recorded('summary', 'c')"})
    waves = [[job.name for job in wave] for wave in execution_waves(jobs)]
    assert waves == [["tongliang", "banan"], ["summary"], ["later"]]


@pytest.mark.parametrize("codes, message", [
    ({"a": "recorded('nobody', 'x')"}, "a.md reads the recorded values of nobody: no notebook"),
    ({"a": "recorded('b', 'x')", "b": "recorded('a', 'y')"},
     "read each other's recorded values, so none can run first: a, b"),
])
def test_reads_of_no_notebook_or_in_a_circle_are_refused(tmp_path, codes, message):
    from cqbook.build.pipeline import BuildError, execution_waves

    with pytest.raises(BuildError, match=re.escape(message)):
        execution_waves(_jobs(tmp_path, codes))


def test_the_pipeline_and_the_chapters_name_the_same_hand_over_variable():
    from cqbook.analysis import headlines
    from cqbook.build import pipeline

    assert pipeline.RECORDED_VARIABLE == headlines.RECORDED_VARIABLE
