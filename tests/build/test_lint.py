"""The code reviewers read passes ruff: the package, the tests, the benchmarks and the
notebooks' code cells — the same checks .pre-commit-config.yaml runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupytext
from conftest import REPO

BIN = Path(sys.executable).parent


def ruff(*paths: str, outside_repo: bool = False) -> subprocess.CompletedProcess:
    # Scripts written outside the repository find no configuration of their own.
    config = ["--config", str(REPO / "pyproject.toml")] if outside_repo else []
    return subprocess.run([str(BIN / "ruff"), "check", *config, *paths], cwd=REPO,
                          capture_output=True, text=True, check=False)


def test_python_code_passes_ruff():
    result = ruff("cqbook", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def notebook_scripts(folder: Path, into: Path) -> list[str]:
    """Each text notebook's code cells as a percent-format script (what ruff can read)."""
    scripts = []
    for path in sorted(folder.glob("*.md")):
        script = into / f"{path.stem}.py"
        jupytext.write(jupytext.read(path), script, fmt="py:percent")
        scripts.append(str(script))
    return scripts


def test_notebook_cells_pass_ruff(tmp_path):
    scripts = notebook_scripts(REPO / "notebooks", tmp_path)
    assert len(scripts) >= 6
    result = ruff(*scripts, outside_repo=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unused_import_in_a_notebook_cell_is_caught(tmp_path):
    notebook = tmp_path / "notebooks"
    notebook.mkdir()
    (notebook / "probe.md").write_text("```{code-cell}\nimport os\n```\n", encoding="utf-8")
    result = ruff(*notebook_scripts(notebook, tmp_path), outside_repo=True)
    assert result.returncode == 1 and "F401" in result.stdout
