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
