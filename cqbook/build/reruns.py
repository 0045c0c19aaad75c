"""Re-running one notebook with new parameters (`run`), or over a grid of values (`sweep`).

Both check every value before any kernel starts, write their results into a folder named
after the notebook and the parameters, and leave the published book alone.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
import sys
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
        output_root: Path = RUNS_DIR, page: bool = False) -> Path:
    """Execute `notebook` once with the values given into its run folder; with `page` (what
    the command line asks for), also the chapter's page as the book shows it
    (cqbook.build.run_page). Tests of a chapter's numbers leave the page out: it is a Sphinx
    build."""
    from cqbook.build.execution import execute_notebook
    from cqbook.build.pipeline import check_data

    path, declaration, resolved, changed = resolve(notebook, cli_values, params_file)
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
    print(f"{notebook}: executed in {seconds:.1f} s -> {shown(folder)}")
    return _keep(notebook, folder, executed, resolved, declaration,
                 _command(notebook, cli_values, params_file) if page else None)


def _keep(notebook: str, folder: Path, executed: Path, resolved: dict[str, Any],
          declaration: params.Declaration, command: str | None, into_book: bool = False,
          published=None) -> Path:
    """Write the run's parameters, headline values and (given the command that made it) its
    page; print the headline values."""
    headlines = _headlines_of(executed)
    write_json_atomic(folder / "parameters.json", resolved)
    write_json_atomic(folder / "headline_values.json", headlines)
    (folder / f"{notebook}.html").unlink(missing_ok=True)  # the nbconvert page of old runs
    for entry in headlines:
        print(f"  {entry['name']:<36} {entry['text']}")
    if command is not None:
        from cqbook.build import run_page

        page = run_page.write_page(
            notebook, folder, executed, resolved, params.validate(declaration, {}), headlines,
            published or run_page.published_values(notebook), command, into_book)
        print(f"page: {shown(page)}")
    return folder


def _command(notebook: str, cli_values: dict[str, str], params_file: Path | None,
             into_book: bool = False) -> str:
    import shlex

    words = ["python", "-m", "cqbook", "run", notebook]
    for name, value in cli_values.items():
        words += ["-p", name, str(value)]
    if params_file:
        words += ["-f", str(params_file)]
    return shlex.join(words + (["--into-book"] if into_book else []))


def _headlines_of(executed: Path) -> list[dict[str, Any]]:
    import nbformat

    from cqbook.analysis.headlines import collect

    return collect(nbformat.read(executed, as_version=4))


# ---------------------------------------------------------------- into the book


def run_into_book(notebook: str, cli_values: dict[str, str], params_file: Path | None = None,
                  output_root: Path = RUNS_DIR) -> Path:
    """Put the values into params/book.yml (the change shown as a diff), rebuild the book,
    and keep the run's folder and page from the notebook the build executed: executed
    once, and cached for the next `make book`, which then keeps the values."""
    import shutil

    from cqbook.build import pipeline, run_page

    path = notebook_path(notebook)
    declaration = params.read_declaration(path)
    given = _file_values(params_file, cli_values)
    given.update(cli_values)
    book_file = pipeline.BOOK_PARAMS_FILE
    in_book = pipeline.book_parameters(book_file).get(notebook, {})
    resolved = params.validate(declaration, {**in_book, **given}, shown(book_file) + " and "
                               + str(params_file or "command line"))
    defaults = params.validate(declaration, {})
    differ = {k: v for k, v in resolved.items() if v != defaults[k]}
    before = book_file.read_text(encoding="utf-8") if book_file.exists() else None
    after = book_file_with(before, notebook, differ)
    if after == before:
        print(f"{shown(book_file)}: {notebook} already runs with these values")
    else:
        print(_diff(before or "", after, shown(book_file)), end="")
        book_file.parent.mkdir(parents=True, exist_ok=True)
        book_file.write_text(after, encoding="utf-8")
    published = run_page.published_values(notebook)
    try:
        pipeline.build(params_file=book_file)
    except BaseException:
        if after != before:
            _restore(book_file, before)
            print(f"{shown(book_file)}: restored as it was (the book was not rebuilt)",
                  file=sys.stderr)
        raise
    folder = output_root / folder_name(notebook, differ)
    folder.mkdir(parents=True, exist_ok=True)
    executed = folder / f"{notebook}.ipynb"
    shutil.copyfile(pipeline.EXECUTED_DIR / f"{notebook}.ipynb", executed)
    print(f"{notebook}: in the book -> {shown(folder)}")
    return _keep(notebook, folder, executed, resolved, declaration,
                 _command(notebook, cli_values, params_file, into_book=True), True, published)


def _restore(book_file: Path, before: str | None) -> None:
    if before is None:
        book_file.unlink(missing_ok=True)
    else:
        book_file.write_text(before, encoding="utf-8")


def _diff(before: str, after: str, name: str) -> str:
    import difflib

    return "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}"))


BOOK_FILE_HEADER = ("# Parameters the published book is built with, per notebook. A notebook or "
                    "parameter not\n# listed here runs with the default declared in its "
                    "`parameters` cell.\n")


def book_file_with(text: str | None, notebook: str, values: dict[str, Any]) -> str:
    """`text` (params/book.yml) with the entry of `notebook` holding exactly `values`; every
    other line, comments included, as it was. Values are written as JSON, which YAML reads
    back as the same text (`"2023-12-31"`, `13702`, `[-20.0, 0.0]`)."""
    import yaml

    entry = (f"{notebook}:\n" + "".join(f"  {name}: {json.dumps(value, ensure_ascii=False)}\n"
                                        for name, value in values.items())
             if values else f"{notebook}: {{}}\n")
    if text is None:
        return BOOK_FILE_HEADER + entry
    lines = text.splitlines(keepends=True)
    root = yaml.compose(text, Loader=yaml.SafeLoader) if text.strip() else None
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    for key, value in pairs:
        if key.value == notebook:
            first, last = key.start_mark.line, _last_line(value)
            return "".join(lines[:first]) + entry + "".join(lines[last:])
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines) + entry


def _last_line(node) -> int:
    """The line after the last one `node` is written on (its trailing comments excluded)."""
    import yaml

    children = ([v for _, v in node.value] if isinstance(node, yaml.MappingNode)
                else node.value if isinstance(node, yaml.SequenceNode) else [])
    if children and not node.flow_style:
        return _last_line(children[-1])
    mark = node.end_mark
    return mark.line + (1 if mark.column else 0)


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
    from cqbook.build import sweep_report

    report = sweep_report.write_report(folder, notebook, names, runs, results,
                                       params.validate(params.read_declaration(path), {}))
    print(f"sweep {notebook}: {len(runs)} runs in {time.perf_counter() - started:.1f} s "
          f"-> {shown(table)}")
    print(f"report: {shown(report)}")
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
