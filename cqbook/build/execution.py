"""Executing one notebook with papermill, and saying exactly where it failed.

The executed copy is cleaned of what changes from run to run (timings, papermill's run
metadata), so that two runs with the same inputs write the same bytes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 120
INJECTED_TAG = "injected-parameters"
SKIP_TAG = "skip-execution"  # nbclient's default skip_cells_with_tag


@dataclass
class ExecutionFailure(Exception):
    """A notebook that did not run to the end: which notebook, which cell, what error."""

    notebook: str
    cell_index: int | None  # index in the source notebook (0-based); None if before any cell
    first_line: str
    error: str
    kept_at: Path | None = None

    def __str__(self) -> str:
        where = (f"cell {self.cell_index} (`{self.first_line}`)" if self.cell_index is not None
                 else "before the first cell")
        kept = f"; executed copy kept at {self.kept_at}" if self.kept_at else ""
        return f"{self.notebook}: {where}: {self.error}{kept}"


def execute_notebook(source: Path, output: Path, parameters: dict[str, Any],
                     failures_dir: Path, timeout: int = CELL_TIMEOUT_SECONDS) -> float:
    """Run `source` with `parameters` into `output`; return seconds taken.

    On failure, the partly executed notebook goes to `failures_dir` and ExecutionFailure is
    raised; `output` is never left half-written.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from cqbook.build.engine import engine_name
    from cqbook.build.notebook_files import read_notebook

    started = time.perf_counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.{os.getpid()}.partial.ipynb")
    notebook = read_notebook(source)
    try:
        for attempt in (1, 2):
            try:
                papermill.execute_notebook(
                    notebook, str(partial), parameters=parameters,
                    kernel_name=KERNEL_NAME, engine_name=engine_name(),
                    progress_bar=False, log_output=False,
                    cwd=str(source.parent), execution_timeout=timeout, record_timing=False,
                    # Saved as each cell starts, so that a hang or a dead kernel still
                    # leaves a notebook showing which cell was running.
                    request_save_on_cell_execute=True)
                break
            except RuntimeError as error:
                # Kernel start races ("Address already in use", papermill #511): retry once.
                if attempt == 2 or "Kernel" not in str(error) or partial.exists():
                    raise
    except PapermillExecutionError as error:
        raise _failure(source, partial, failures_dir, f"{error.ename}: {error.evalue}") from None
    except Exception as error:  # noqa: BLE001 - a timeout, a dead kernel, a kernel that never started
        message = f"{type(error).__name__}: " + (str(error).strip().splitlines() or [""])[0]
        raise _failure(source, partial, failures_dir, message) from None
    notebook = nbformat.read(partial, as_version=4)
    stopped = _first_cell_that_did_not_finish(notebook)
    if stopped is not None:
        index, cell, reason = stopped
        raise _failure(source, partial, failures_dir, reason, (index, _first_line(cell))) from None
    write_stable(clean(notebook), output)
    partial.unlink()
    return time.perf_counter() - started


def _failure(source: Path, partial: Path, failures_dir: Path, message: str,
             cell: tuple[int, str] | None = None) -> ExecutionFailure:
    import nbformat

    cell_index, first_line, kept = None, "", None
    if partial.exists():
        notebook = nbformat.read(partial, as_version=4)
        cell_index, first_line = cell or _failed_cell(notebook)
        failures_dir.mkdir(parents=True, exist_ok=True)
        kept = failures_dir / f"{source.stem}.ipynb"  # executed: a notebook, whatever the source
        os.replace(partial, kept)
    return ExecutionFailure(source.name, cell_index, first_line, message, kept)


def _failed_cell(notebook) -> tuple[int | None, str]:
    """Index (in the source notebook, not counting papermill's added cells) and first line
    of the cell that failed, or else of the last cell that started: after a timeout or a
    dead kernel papermill marks every cell "completed", but only started cells have a
    start time."""
    index, failed, last_started = -1, None, None
    for cell in notebook.cells:
        if _added_by_papermill(cell):
            continue
        index += 1
        run = cell.get("metadata", {}).get("papermill", {})
        if run.get("status") == "failed" and failed is None:
            failed = (index, cell)
        if run.get("start_time") and cell.cell_type == "code":
            last_started = (index, cell)
    found = failed or last_started
    if found is None:
        return None, ""
    return found[0], _first_line(found[1])


def _first_line(cell) -> str:
    lines = cell.source.strip().splitlines()
    return lines[0] if lines else ""


def _first_cell_that_did_not_finish(notebook):
    """(index, cell, reason) of the cell a notebook papermill called a success stopped at,
    naming the first cell that never ran; or None when every cell ran.

    papermill's own check lets a SystemExit of 0 or '' through (`sys.exit(0)`, `raise
    SystemExit`): the notebook "succeeds" with every later cell never run. Cells nbclient
    skips on purpose (empty, tagged `skip-execution`) are not expected to run; an error
    output is expected only in a cell tagged `raises-exception`."""
    stop, never_ran = None, []
    for index, cell in _source_cells(notebook):
        if cell.cell_type != "code" or not cell.source.strip() or \
                SKIP_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.get("execution_count") is None:
            never_ran.append((index, cell))
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and stop is None and \
                "raises-exception" not in cell.get("metadata", {}).get("tags", []):
            stop = index, cell, f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
    if not never_ran:
        return None if stop is None else (*stop[:2], f"{stop[2]} (the notebook stopped here)")
    first = never_ran[0]
    not_run = (f"{len(never_ran)} cell{'s' if len(never_ran) > 1 else ''} never ran, from "
               f"cell {first[0]} (`{_first_line(first[1])}`)")
    if stop is None:
        return (*first, f"the notebook stopped before this cell without an error: {not_run}")
    return (*stop[:2], f"{stop[2]}: the notebook stopped here; {not_run}")


def _source_cells(notebook):
    """(index in the source notebook, cell), leaving out the cells papermill adds."""
    index = -1
    for cell in notebook.cells:
        if not _added_by_papermill(cell):
            index += 1
            yield index, cell


def _added_by_papermill(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return INJECTED_TAG in tags or "papermill-error-cell-tag" in tags


def clean(notebook):
    """Drop what differs between two runs of the same inputs."""
    # papermill writes start/end times and durations into notebook and cell metadata.
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if INJECTED_TAG in cell.metadata.get("tags", []):
            # The chapter's parameter box shows the values; the raw cell is noise for readers.
            cell.metadata["tags"] = sorted(set(cell.metadata["tags"]) | {"remove-cell"})
            # papermill gives the cell it adds a random id on every run.
            cell.id = INJECTED_TAG
    return notebook


def write_stable(notebook, path: Path) -> None:
    """Write atomically (a reader never sees half a notebook) in nbformat's sorted JSON."""
    import nbformat

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    nbformat.write(notebook, tmp)
    os.replace(tmp, path)
