"""Text notebooks in the pipeline: a MyST Markdown notebook executes to the same notebook as
its JSON form, a change to it is a one-line diff, and a file the pipeline cannot use is named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import REPO, cqbook

from cqbook.build.notebook_files import write_text_notebook

pytestmark = pytest.mark.slow


def to_text_form(repo, name: str) -> None:
    source = repo / "notebooks" / f"{name}.ipynb"
    write_text_notebook(nbformat.read(source, as_version=4), source.with_suffix(".md"))
    source.unlink()


def without_ids(path) -> dict:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        cell.pop("id")
    return notebook


def test_text_form_executes_to_the_same_notebook_as_the_json_form(built_fixture_repo,
                                                                    fixture_repo):
    to_text_form(fixture_repo, "alpha")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alpha" in result.stdout and "executed" in result.stdout
    executed = "_build/executed/alpha.ipynb"
    # Only the cell ids differ: the text form keeps none, so they are made from positions.
    assert without_ids(fixture_repo / executed) == without_ids(built_fixture_repo / executed)
    ids = [c["id"] for c in json.loads((fixture_repo / executed).read_text())["cells"]]
    assert "alpha-00" in ids


def test_a_notebook_in_both_forms_is_refused_naming_both(fixture_repo):
    source = fixture_repo / "notebooks" / "alpha.ipynb"
    write_text_notebook(nbformat.read(source, as_version=4), source.with_suffix(".md"))
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2
    assert "alpha.ipynb and" in result.stderr and "alpha.md" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("content", ["{not json", "[]", '{"cells": 3}'])
def test_a_notebook_that_is_not_a_notebook_is_named(fixture_repo, content):
    (fixture_repo / "notebooks" / "beta.ipynb").write_text(content, encoding="utf-8")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "beta.ipynb" in result.stderr and "Traceback" not in result.stderr


def git(repo, *arguments) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def test_a_one_line_code_change_is_a_one_line_git_diff_without_any_driver(tmp_path):
    repo = tmp_path / "clone"
    shutil.copytree(REPO / "notebooks", repo / "notebooks")
    shutil.copy(REPO / ".gitattributes", repo / ".gitattributes")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    chapter = repo / "notebooks" / "yongchuan.md"
    text = chapter.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("vehicles_shipped = "))
    chapter.write_text(text.replace(line, line.replace("12702", "12703", 1)), encoding="utf-8")
    assert git(repo, "diff", "--numstat") == "1\t1\tnotebooks/yongchuan.md\n"
    changed = [x for x in git(repo, "diff", "-U0").splitlines()
               if x[:1] in "+-" and not x.startswith(("+++", "---"))]
    assert changed == [f"-{line}", f"+{line.replace('12702', '12703', 1)}"]


def test_nbval_runs_every_cell_of_a_text_notebook_and_fails_on_a_failing_one(tmp_path):
    (tmp_path / "probe.md").write_text(
        "# Probe\n\n```{code-cell}\nratio = 1 / 1\n```\n\n```{code-cell}\nratio = 1 / 0\n```\n",
        encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "cqbook.build.nbval_text", "--nbval-lax",
         "--nbval-current-env", "-p", "no:cacheprovider", "-q", "probe.md"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout and "ZeroDivisionError" in result.stdout
