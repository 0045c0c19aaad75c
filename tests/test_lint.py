"""The code reviewers read passes ruff: the package, the tests, the benchmarks and (through
nbQA) the notebooks' cells — the same checks .pre-commit-config.yaml runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent


def test_python_code_passes_ruff():
    result = subprocess.run([str(BIN / "ruff"), "check", "cqbook", "tests", "benchmarks"],
                            cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebook_cells_pass_ruff_through_nbqa():
    result = subprocess.run([str(BIN / "nbqa"), "ruff", "notebooks"], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
