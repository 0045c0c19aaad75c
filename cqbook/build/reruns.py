"""Re-running one notebook with new parameters (`run`), or over a grid of values (`sweep`).

Both check every value before any kernel starts, write their results into a folder named
after the notebook and the parameters, and leave the published book alone.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

from cqbook.build import limits, params
from cqbook.build.cache import write_json_atomic
from cqbook.paths import REPO_ROOT

RUNS_DIR = REPO_ROOT / "runs"
SWEEPS_DIR = REPO_ROOT / "sweeps"
MAX_SWEEP_RUNS = 500


def notebook_path(name: str) -> Path:
    from cqbook.build.pipeline import notebook_paths

    notebooks = notebook_paths()
    if name not in notebooks:
        raise params.ParameterError(f"no notebook named `{name}` "
                                    f"(notebooks: {', '.join(notebooks)})")
    return notebooks[name]


def shown(path: Path) -> str:
    """A path as the user wants to read it: relative to the repository when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def folder_name(notebook: str, changed: dict[str, Any]) -> str:
    """`yongchuan__as_of_date=2023-12-31`; long or odd values fall back to a short hash."""
    if not changed:
        return f"{notebook}__defaults"
    parts = [f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
             for k, v in sorted(changed.items())]
    slug = re.sub(r"[^A-Za-z0-9_=.,+-]", "_", "__".join(parts))
    if len(slug) > 80:
        digest = hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:12]
        slug = f"{slug[:60]}__{digest}"
    return f"{notebook}__{slug}"


def resolve(notebook: str, cli_values: dict[str, str], params_file: Path | None):
    """(path, declaration, full parameter set, the values that differ from the defaults)."""
    path = notebook_path(notebook)
    declaration = params.read_declaration(path)
    given = _file_values(params_file, cli_values)
    given.update(cli_values)
    resolved = params.validate(declaration, given, str(params_file or "command line"))
    defaults = params.validate(declaration, {})
    changed = {k: v for k, v in resolved.items() if v != defaults[k]}
    return path, declaration, resolved, changed


def _file_values(params_file: Path | None, given: dict) -> dict[str, Any]:
    """The values in `params_file`, refusing a name also `given` on the command line: which
    of the two should win is a guess, and a wrong guess runs what nobody asked for."""
    values = dict(params.read_parameter_file(params_file)) if params_file else {}
    both = sorted(set(values) & set(given))
    if both:
        raise params.ParameterError(f"`{both[0]}` is given both in {params_file} and with -p; "
                                    "give it once")
    return values


def run(notebook: str, cli_values: dict[str, str], params_file: Path | None = None,
        output_root: Path = RUNS_DIR) -> Path:
    from cqbook.build.execution import execute_notebook
    from cqbook.build.pipeline import check_data

    path, _, resolved, changed = resolve(notebook, cli_values, params_file)
    check_data()
    folder = output_root / folder_name(notebook, changed)
    executed = folder / f"{notebook}.ipynb"
    seconds = execute_notebook(path, executed, resolved, folder / "failures")
    try:
        limits.check_outputs(executed, path.name)
    except Exception:
        if not any(folder.iterdir()):  # made by this run, and now empty: leave no trace
            folder.rmdir()
        raise
    headlines = _headlines_of(executed)
    write_json_atomic(folder / "parameters.json", resolved)
    write_json_atomic(folder / "headline_values.json", headlines)
    _write_html_page(executed, folder / f"{notebook}.html")
    print(f"{notebook}: executed in {seconds:.1f} s -> {shown(folder)}")
    for entry in headlines:
        print(f"  {entry['name']:<36} {entry['text']}")
    return folder


def _headlines_of(executed: Path) -> list[dict[str, Any]]:
    import nbformat

    from cqbook.analysis.headlines import collect

    return collect(nbformat.read(executed, as_version=4))


def _write_html_page(executed: Path, page: Path) -> None:
    """A standalone page of one executed notebook, inputs hidden as in the book."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(executed, as_version=4)
    fill_glue_roles(notebook)
    exporter = HTMLExporter(template_name="classic", exclude_input=True)
    body, _ = exporter.from_notebook_node(notebook)
    page.write_text(body, encoding="utf-8")


GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")


def fill_glue_roles(notebook) -> None:
    """Replace {glue:text}`name:spec` in markdown cells by the glued value, as the book does;
    nbconvert knows no MyST roles and would print them raw. The value goes in as text, as in
    the book: pasted raw into Markdown, a value quoting the page could hold `<img onerror=…>`
    and run as a script in the page."""
    from cqbook.analysis.headlines import GLUE_PREFIX
    from cqbook.build.pages import md_text

    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get(GLUE_PREFIX + "text/plain")
            if name and text is not None:
                values[name] = text

    def paste(match: re.Match) -> str:
        name, spec = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        try:
            value = ast.literal_eval(values[name])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return md_text(values[name])
        try:
            return md_text(format(value, spec) if spec and spec != "s" else value)
        except (ValueError, TypeError):  # a spec that does not fit the value: show it plain
            return md_text(value)

    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = GLUE_ROLE.sub(paste, cell.source)
        else:  # glue records are data for the book, not something a page can show
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not all(k.startswith(GLUE_PREFIX) for k in o.get("data", {"": 0}))]


# ---------------------------------------------------------------- sweeps


def sweep_grid(notebook: str, grid: dict[str, list[str]], params_file: Path | None = None):
    """Every combination of the grid's values, each checked in full before anything runs."""
    path = notebook_path(notebook)
    declaration = params.read_declaration(path)
    base = _file_values(params_file, grid)
    for name, values in grid.items():
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:  # two identical runs: a typo for another value, most likely
            raise params.ParameterError(f"sweep: value {twice[0]!r} of `{name}` is given twice")
    names = list(grid)
    combinations = list(itertools.product(*(grid[name] for name in names)))
    if len(combinations) > MAX_SWEEP_RUNS:
        raise params.ParameterError(f"sweep of {len(combinations)} runs is larger than "
                                    f"{MAX_SWEEP_RUNS}; split it")
    runs = []
    for values in combinations:
        given = {**base, **dict(zip(names, values))}
        runs.append(params.validate(declaration, given, "sweep"))
    return path, names, runs


def _sweep_one(source: Path, output: Path, parameters: dict[str, Any]) -> list[dict]:
    from cqbook.build.execution import execute_notebook

    execute_notebook(source, output, parameters, output.parent / "failures")
    limits.check_outputs(output, source.name)
    return _headlines_of(output)


def sweep(notebook: str, grid: dict[str, list[str]], params_file: Path | None = None,
          jobs: int | None = None, scheduler: str | None = None,
          output_root: Path = SWEEPS_DIR) -> Path:
    from cqbook.build.pipeline import check_data
    from cqbook.build.progress import Progress

    path, names, runs = sweep_grid(notebook, grid, params_file)
    check_data()
    digest = hashlib.sha256(json.dumps(runs, sort_keys=True).encode()).hexdigest()[:12]
    folder = output_root / f"{notebook}__{'_'.join(names)}__{digest}"
    outputs = [folder / "runs" / f"run-{index:03d}.ipynb" for index in range(len(runs))]
    started = time.perf_counter()
    progress = Progress(len(runs), f"sweep {notebook}")
    results = _map(_sweep_one, [(path, out, run) for out, run in zip(outputs, runs)],
                   jobs, scheduler, progress)
    rows = []
    for index, (run_params, headlines) in enumerate(zip(runs, results)):
        row = {"run": index, **{k: _cell(v) for k, v in run_params.items()}}
        row.update({entry["name"]: entry["value"] for entry in headlines})
        rows.append(row)
    table = folder / "results.csv"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(table, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"sweep {notebook}: {len(runs)} runs in {time.perf_counter() - started:.1f} s "
          f"-> {shown(table)}")
    return table


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


def _map(function, argument_tuples, jobs, scheduler, progress) -> list:
    """Run `function` over the arguments, results in order: each in its own process forked
    from this one (cqbook.build.task_pool), or on a Dask cluster if a scheduler is given."""
    if scheduler:
        return _map_on_dask(function, argument_tuples, scheduler, progress)
    import os

    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    from cqbook.build import engine, task_pool

    engine.preload()
    outcomes = task_pool.run_tasks(function, list(argument_tuples), jobs or os.cpu_count() or 1,
                                   lambda index, ok, value: progress.advance())
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]


def _map_on_dask(function, argument_tuples, scheduler, progress) -> list:
    """One task per run on the cluster at `scheduler` (an address, or a Client's
    scheduler). Each worker runs the notebook in a real kernel it starts itself."""
    from distributed import Client, as_completed

    with Client(scheduler) as client:
        futures = [client.submit(function, *args, pure=False) for args in argument_tuples]
        for _ in as_completed(futures):
            progress.advance()
        return client.gather(futures)
