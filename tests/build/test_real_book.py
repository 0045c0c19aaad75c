"""The real book, built from a copy of the repository: its committed results are current,
its executed notebooks pass strict nbval, and a second clean build gives the same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, copy_repository, cqbook

pytestmark = pytest.mark.slow

# The `real_book_repo` fixture (the real book built once, in a copy) is in conftest.py: the
# browser tests share the same build.


@pytest.mark.parametrize("name", ["headline_values.csv", "figure_hashes.csv"])
def test_committed_results_match_what_the_current_inputs_produce(real_book_repo, name):
    fresh = (real_book_repo / "results" / name).read_text(encoding="utf-8")
    committed_path = REPO / "results" / name
    committed = committed_path.read_text(encoding="utf-8") if committed_path.exists() else ""
    assert committed == fresh, (
        f"results/{name} is out of date with the data, notebooks and parameters. "
        f"Refresh it with `make book` and commit results/{name}.")


def test_executed_notebooks_pass_strict_nbval(real_book_repo):
    executed = sorted((real_book_repo / "_build" / "executed").glob("*.ipynb"))
    assert executed, "the build executed no notebook"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider",
         "--nbval", "--nbval-current-env", "-q", *map(str, executed)],
        cwd=real_book_repo, capture_output=True, text=True, timeout=1800, check=False,
        env={**os.environ, "PYTHONPATH": str(real_book_repo)})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_two_clean_builds_write_identical_notebooks_and_figures(real_book_repo, tmp_path):
    first = {p.name: p.read_bytes() for p in (real_book_repo / "_build" / "executed").glob("*")}
    second_repo = copy_repository(tmp_path / "repo", fixture_book=False)
    result = cqbook(second_repo, "build", timeout=1800)
    assert result.returncode == 0, result.stderr
    second = {p.name: p.read_bytes() for p in (second_repo / "_build" / "executed").glob("*")}
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"executed notebooks differ between two clean builds: {different}"
    for name in ("headline_values.csv", "figure_hashes.csv"):
        assert ((real_book_repo / "results" / name).read_bytes()
                == (second_repo / "results" / name).read_bytes())
    shutil.rmtree(second_repo / "_build")


def test_a_chapter_that_compares_runs_again_on_the_values_it_reads_of_this_build(
        real_book_repo, tmp_path):
    """summary_charts divides what tongliang and banan record: when tongliang's values move,
    it runs after tongliang, on tongliang's new values, not on the committed results."""
    import json

    from conftest import executed_notebooks

    repo = tmp_path / "repo"
    shutil.copytree(real_book_repo, repo, symlinks=True)
    (repo / "params" / "book.yml").write_text("tongliang:\n  investment_total_yi: 230.0\n",
                                               encoding="utf-8")
    result = cqbook(repo, "build", timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    assert executed_notebooks(result.stdout) == {"tongliang", "summary_charts"}
    assert result.stdout.index("tongliang ") < result.stdout.index("summary_charts ")

    def value(values: dict, notebook: str, name: str) -> float:
        return next(h["value"] for h in values[notebook] if h["name"] == name)

    before = json.loads((real_book_repo / "_build" / "headline_values.json").read_text())
    after = json.loads((repo / "_build" / "headline_values.json").read_text())
    other = value(after, "tongliang", "tongliang_other_average")
    assert other != value(before, "tongliang", "tongliang_other_average")
    reuse = value(after, "banan", "banan_reuse_average_per_project")
    assert value(after, "summary_charts", "summary_tongliang_other_vs_reuse") == \
        pytest.approx(other / reuse, rel=1e-9)


def test_no_table_of_the_book_prints_an_escaped_line_break(real_book_repo):
    """pandas writes a newline inside a column label as the two characters `\\n`."""
    import re

    html = (real_book_repo / "_build" / "html").resolve()
    found = [f"{page.relative_to(html)}: {cell[:60]}" for page in sorted(html.rglob("*.html"))
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>",
                                    page.read_text(encoding="utf-8"), flags=re.DOTALL)
             if "\\n" in re.sub(r"<[^>]+>", "", cell)]
    assert found == []
