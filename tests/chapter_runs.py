"""Running a chapter notebook with parameters for a test, and reading its headline values.

`reruns.run` prints its output folder relative to the repository, so the throwaway folder
lives under the (git-ignored) runs/ folder and is removed afterwards.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from cqbook import reruns


def run_headlines(notebook: str, values: dict[str, str]) -> dict[str, dict]:
    """Execute `notebook` with `values`; its headline values by name."""
    reruns.RUNS_DIR.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"test-{notebook}-", dir=reruns.RUNS_DIR))
    try:
        folder = reruns.run(notebook, values, output_root=root)
        entries = json.loads((folder / "headline_values.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {entry["name"]: entry for entry in entries}


def assert_refused_before_kernel(notebook: str, name: str, value: str, rule: str,
                                 monkeypatch) -> None:
    """`name` = `value` is refused with a ParameterError matching `rule`, by resolve and by
    run, and no kernel is ever started."""
    import pytest

    from cqbook.params import ParameterError

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr("cqbook.execution.execute_notebook", no_kernel)
    with pytest.raises(ParameterError, match=rule):
        reruns.resolve(notebook, {name: value}, None)
    with pytest.raises(ParameterError, match=rule):
        reruns.run(notebook, {name: value})
