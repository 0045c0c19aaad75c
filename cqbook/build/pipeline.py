"""The build: check every input, execute what changed in parallel, publish the book whole.

Order matters for "nothing is ever lost": data and parameters are checked before any kernel
starts; notebooks are executed into the cache; the book is built beside the published one and
swapped in only when Sphinx succeeded and no input changed meanwhile. A failure says what
happened to the published book, as checked then, not as hoped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cqbook.build import cache, limits, params, results
from cqbook.build.execution import CELL_TIMEOUT_SECONDS
from cqbook.paths import BUILD_DIR, DATA_DIR, NOTEBOOKS_DIR, PARAMS_DIR, REPO_ROOT

BOOK_PARAMS_FILE = PARAMS_DIR / "book.yml"
EXECUTED_DIR = BUILD_DIR / "executed"
FAILURES_DIR = BUILD_DIR / "failures"
CACHE_DIR = BUILD_DIR / "cache"
HEADLINES_JSON = BUILD_DIR / "headline_values.json"
# A notebook that compares (`recorded("tongliang", ...)`) runs after the notebooks it reads,
# with their values of this build in this file; cqbook.analysis.headlines reads it.
RECORDED_JSON = BUILD_DIR / "recorded.json"
RECORDED_VARIABLE = "CQBOOK_RECORDED"
_READS = re.compile(r"""\brecorded(?:_bounds)?\(\s*["']([A-Za-z0-9_]+)["']""")


class BuildError(RuntimeError):
    """A build that stopped; the message says what became of the published book."""


@dataclass
class NotebookJob:
    name: str
    source: Path
    parameters: dict[str, Any]
    defaults: dict[str, Any]
    key: str = ""
    output: Path | None = None
    cell_timeout: int = CELL_TIMEOUT_SECONDS  # a cell running longer fails the build
    reads: set[str] = field(default_factory=set)  # notebooks whose recorded values it reads


@dataclass
class BuildReport:
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    book: Path | None = None
    seconds: float = 0.0


def log(message: str) -> None:
    print(message, flush=True)


@contextmanager
def build_lock(wait: bool = True):
    """One build at a time per checkout: a second one waits (or is refused) with a message.

    The lock is a flock on the checkout's own folder, held open for the whole build. A lock
    file could be tidied away by hand (`rm _build/.lock`, `rm -rf _build`) while a build holds
    it, and a second build would then lock a new file and run beside the first."""
    handle = os.open(REPO_ROOT, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise BuildError(f"another build is running in this checkout ({REPO_ROOT}); "
                                 "try again when it ends") from None
            log(f"waiting: another build holds the lock on this checkout ({REPO_ROOT}) ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def notebook_paths() -> dict[str, Path]:
    from cqbook.build.notebook_files import notebook_files

    return notebook_files(NOTEBOOKS_DIR)


def book_parameters(params_file: Path | None = BOOK_PARAMS_FILE) -> dict[str, dict[str, Any]]:
    """The book's parameter file: a mapping notebook name → {parameter: value}. Only the
    default file may be absent (the defaults, then); a file named by the user must exist, or
    a typo in its name would build the defaults and say nothing."""
    if params_file is None or (Path(params_file) == BOOK_PARAMS_FILE
                               and not os.path.lexists(params_file)):
        return {}
    content = params.read_parameter_file(params_file)
    for name, values in content.items():
        if not isinstance(values, dict) and values not in ("", None):
            raise params.ParameterError(f"{params_file}: `{name}` must map parameter names to "
                                        "values")
    return {name: (values or {}) for name, values in content.items()}


def plan_jobs(overrides: dict[str, dict[str, Any]], source: str) -> list[NotebookJob]:
    """Read every declaration and check every value; raise before anything runs."""
    notebooks = notebook_paths()
    unknown = sorted(set(overrides) - set(notebooks))
    if unknown:
        raise params.ParameterError(f"{source}: no notebook named {', '.join(unknown)} "
                                    f"(notebooks: {', '.join(notebooks)})")
    jobs = []
    for name, path in notebooks.items():
        declaration = params.read_declaration(path)
        resolved = params.validate(declaration, overrides.get(name, {}), source)
        jobs.append(NotebookJob(name, path, resolved, params.validate(declaration, {})))
    return jobs


DATA_CHECKED = CACHE_DIR / "data-checked.json"


def check_data(shared: dict[str, str] | None = None) -> None:
    """Validate the data package, unless this very data was validated by this very code
    (the digests of data/, the package, the lock and the Python): validating imports pandas
    and frictionless, most of a no-op build's second."""
    # The digests read through links: what is a link, and to where, is part of the key, so
    # a file swapped for a link to a copy outside data/ is validated (and refused) again.
    checked = {**(shared or cache.shared_inputs()), "links": _links_under(DATA_DIR)}
    try:
        if json.loads(DATA_CHECKED.read_text(encoding="utf-8")) == checked:
            return
    except (OSError, ValueError):
        pass
    from cqbook.dataset.package import validate

    validate()
    cache.write_json_atomic(DATA_CHECKED, checked)


def _links_under(folder: Path) -> list[list[str]]:
    links = [[".", os.readlink(folder)]] if folder.is_symlink() else []
    for directory, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(directory, name)
            if path.is_symlink():
                links.append([path.relative_to(folder).as_posix(), os.readlink(path)])
    return sorted(links)


def _execute_job(job: NotebookJob, output: Path) -> tuple[str, float]:
    from cqbook.build.execution import execute_notebook

    seconds = execute_notebook(job.source, output, job.parameters, FAILURES_DIR,
                               job.cell_timeout)
    limits.check_outputs(output, job.source.name)  # before it is cached: see cqbook.build.limits
    return job.name, seconds


def execute_jobs(jobs: list[NotebookJob], n_workers: int,
                 on_done: Callable[[str, str, float], None],
                 meanwhile: Callable[[], None] | None = None) -> list[Exception]:
    """Execute each notebook in its own process forked from this one (after the imports
    every notebook needs, see cqbook.build.engine); report each as it ends; return the
    failures. `meanwhile()` runs here while the first notebooks execute."""
    failures: list[Exception] = []
    if not jobs:
        return failures
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    from cqbook.build import engine, task_pool
    from cqbook.build.progress import Progress

    engine.preload()
    progress = Progress(len(jobs), "notebooks")
    started = time.perf_counter()

    def finished(index: int, ok: bool, value: Any) -> None:
        job = jobs[index]
        with progress.printing():
            if ok:
                on_done(job.name, "executed", value[1])
            else:  # reported, then the build stops
                failures.append(value)
                on_done(job.name, "FAILED", time.perf_counter() - started)
        progress.advance()

    task_pool.run_tasks(_execute_job, [(job, job.output) for job in jobs],
                        min(n_workers, len(jobs)), finished, meanwhile)
    return failures


def build(jobs_count: int | None = None, params_file: Path | None = BOOK_PARAMS_FILE,
          overrides: dict[str, dict[str, Any]] | None = None,
          cell_timeout: int | None = None) -> BuildReport:
    started = time.perf_counter()
    report = BuildReport()
    with build_lock():
        from cqbook.build import publishing

        _check_build_folder()
        before = publishing.look()
        try:
            with publishing.waiting_sphinx():
                _build_locked(report, jobs_count or os.cpu_count() or 1, params_file,
                              overrides or {}, cell_timeout, before)
        except OSError as error:  # an unwritable or vanished file under _build/, a full disk
            where = cache.shown(Path(error.filename)) if error.filename else "a file"
            raise BuildError(f"cannot write {where} ({error.strerror or error}); "
                             f"{published_status(before)}") from None
    report.seconds = time.perf_counter() - started
    log(f"book: {report.book.relative_to(REPO_ROOT)}/index.html  "
        f"({len(report.executed)} executed, {len(report.cached)} cached, "
        f"{report.seconds:.1f} s)")
    return report


def _check_build_folder() -> None:
    """Refuse at once, in one line, when `_build` cannot be written (read-only, immutable,
    a file): nothing is executed that could not be kept."""
    if BUILD_DIR.exists() and not BUILD_DIR.is_dir():
        raise BuildError(f"{cache.shown(BUILD_DIR)} is a file, not a folder: move it away and "
                         "build again")
    probe = BUILD_DIR / f".write-test.{os.getpid()}"
    try:
        BUILD_DIR.mkdir(exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink(missing_ok=True)  # someone tidying `_build/.*` away may be quicker
    except OSError as error:
        raise BuildError(f"{cache.shown(BUILD_DIR)} is not writable ({error.strerror}): nothing "
                         "was built, and the published book is as it was") from None


def published_status(before) -> str:
    """What became of the published book since `before` (a `publishing.look()`), checked."""
    from cqbook.build import publishing

    try:
        return publishing.describe_change(before, publishing.look())
    except OSError as error:
        return f"what _build/html holds now cannot be read ({error.strerror})"


def _build_locked(report: BuildReport, n_workers: int, params_file: Path | None,
                  overrides: dict[str, dict[str, Any]], cell_timeout: int | None,
                  before) -> None:
    from cqbook.build import pages, publishing

    # Half-written files of a build that was killed (atomic writes leave only these).
    for leftover in EXECUTED_DIR.glob(".*"):
        leftover.unlink()
    shared = cache.shared_inputs()
    check_data(shared)
    book_values = book_parameters(params_file)
    for name, values in overrides.items():
        book_values.setdefault(name, {}).update(values)
    jobs = plan_jobs(book_values, str(params_file) if params_file else "override")
    inputs = cache.input_digests()
    store = cache.Cache(CACHE_DIR, note=log)
    stale = []
    # The installed packages the build page lists, read while the first kernels run (0.15 s
    # of a one-notebook build otherwise spent after them).
    versions: dict[str, str] = {}

    def read_versions() -> None:
        if not versions:
            versions.update(pages.package_versions())

    for wave in execution_waves(jobs):
        recorded = _recorded_rows(wave, store)
        stale_now = _stale_jobs(wave, store, shared, cell_timeout, report, recorded)
        if stale_now and not stale:  # a missing or stale translation fails before any kernel
            from cqbook.build import editions

            _start_waiting_sphinx()  # while the notebooks run
            editions.check_all()
        stale += stale_now
        _execute_reading(recorded, stale_now, store, n_workers, report, inputs, before,
                         read_versions)
    if not stale:
        log(f"no notebook executed: all {len(jobs)} are up to date")
    entries = {job.name: store.get(job.name) for job in jobs}
    commit = pages.commit_description()
    book_key = _book_key(jobs, publishing.book_source_files(), shared, commit)
    previous = publishing.read_state(log)
    now = publishing.look() if stale else before
    reason = "no book published yet" if previous is None else (
        "the inputs changed" if previous["book_key"] != book_key else
        publishing.problem(previous, now))
    if reason is None:
        log(f"book up to date: Sphinx skipped ({len(now.files or {})} published files "
            "checked against the record)")
    elif previous and previous["book_key"] == book_key and \
            publishing.recorded_book_intact(previous):
        log(f"republishing the book as recorded: {reason}")
        publishing.point_link_at(BUILD_DIR / previous["folder"], log)
    else:
        if previous and previous["book_key"] == book_key:
            log(f"rebuilding the book: {reason}")
        if not stale:  # while the translations are checked and the book is staged
            _start_waiting_sphinx()
        read_versions()  # read already, if a notebook ran
        _build_and_publish(jobs, entries, report, commit, book_key, inputs, before, previous,
                           translations_checked=bool(stale), versions=versions)
    report.book = publishing.HTML_LINK
    cache.write_json_atomic(HEADLINES_JSON, {name: e["headlines"] for name, e in
                                             entries.items()})
    write_results(entries)


def _start_waiting_sphinx() -> None:
    """Sphinx starts up (imports, jieba's dictionary) once, while the build does something
    else, and each edition's SphinxRun hands it its staged book, built in a fork of it:
    otherwise each edition's own process would start up, side by side. Only where the
    kernels fork, so that where the engine refuses (CQBOOK_ENGINE=kernel, a second thread)
    nothing forks."""
    from cqbook.build import engine, publishing

    if engine.can_fork():
        publishing.start_waiting_sphinx()


def _build_and_publish(jobs: list[NotebookJob], entries: dict[str, dict], report: BuildReport,
                       commit: str, book_key: str, inputs: dict[str, str], before,
                       previous: dict | None, translations_checked: bool,
                       versions: dict[str, str]) -> None:
    from cqbook.build import editions, pages, publishing, webfont

    # Once per build: a translation edited while the kernels ran is caught by the inputs'
    # check before publishing, as any other input is.
    if not translations_checked:
        editions.check_all()
    publishing.remove_leftovers(previous, log)
    state = _book_state(jobs, entries, report.executed, commit, versions)
    stage = publishing.stage_sources({job.name: job.output for job in jobs}, state)
    try:
        try:
            editions.declare(stage)
            # The English edition's Sphinx runs while the others are staged and run beside it
            # (one process, one core each); they go into html/<lang>/, published with it or
            # not at all.
            english = publishing.SphinxRun(stage, log)
            try:
                others = editions.start_editions({job.name: job.output for job in jobs}, state,
                                                 log)
                try:
                    html = english.wait()
                except BaseException:
                    editions.stop_editions(others)
                    raise
                editions.finish_editions(html, others)
            finally:
                english.stop()
        except publishing.BookBuildFailure as error:
            raise BuildError(f"Sphinx refused the book; {published_status(before)}.\n"
                             f"{error}") from None
        font = webfont.embed_cjk_font(html, CACHE_DIR / "webfont", log)  # every edition's
        pages.fill_webfont_stats(html, font)
        editions.share_webfont(html, font)
        # A process a cell left running could still be writing: look once more, last thing.
        _check_inputs_unchanged(inputs, "while the book was built", [], before)
        publishing.publish(html, stage, book_key, log)
    finally:
        publishing.release_stage(stage)
    publishing.remove_leftovers(previous, log)


def _check_inputs_unchanged(inputs: dict[str, str], when: str, ran: list[str],
                            before) -> None:
    changed = cache.changed_inputs(inputs, cache.input_digests())
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                           else "")
        by = f" (notebooks that ran: {', '.join(ran)})" if ran else ""
        raise BuildError(f"inputs changed {when}{by}: {shown}. A book built now would mix two "
                         "versions of them, so nothing was cached or published; "
                         f"{published_status(before)}. A cell must not write into data/, "
                         "notebooks/, book/, params/, translations/ or cqbook/; restore the files (`git "
                         "status` lists them) and build again")


def reads_of(source: Path) -> set[str]:
    """The notebooks whose recorded values `source` reads: `recorded("tongliang", ...)`."""
    from cqbook.build.notebook_files import read_cells_quickly

    return {match.group(1) for cell in read_cells_quickly(source)
            if cell["cell_type"] == "code" for match in _READS.finditer(cell["source"])}


def execution_waves(jobs: list[NotebookJob]) -> list[list[NotebookJob]]:
    """The jobs in the order their reads allow: each wave reads only earlier waves' values."""
    names = {job.name for job in jobs}
    for job in jobs:
        job.reads = reads_of(job.source)
        unknown = sorted(job.reads - names)
        if unknown:
            raise BuildError(f"{cache.shown(job.source)} reads the recorded values of "
                             f"{', '.join(unknown)}: no notebook of the book is called so")
    waves, done, left = [], set(), list(jobs)
    while left:
        ready = [job for job in left if job.reads <= done]
        if not ready:
            raise BuildError("these notebooks read each other's recorded values, so none can "
                             f"run first: {', '.join(job.name for job in left)}")
        waves.append(ready)
        done |= {job.name for job in ready}
        left = [job for job in left if job not in ready]
    return waves


def _recorded_rows(wave: list[NotebookJob], store: cache.Cache) -> dict[str, list[dict]]:
    """This build's headline rows (as results/headline_values.csv has them) of every notebook
    the wave reads; the earlier waves are in the cache by now."""
    wanted = sorted({name for job in wave for name in job.reads})
    return {name: results.headline_rows(name, store.get(name)["headlines"], {})
            for name in wanted}


def _execute_reading(recorded: dict[str, list[dict]], stale: list[NotebookJob],
                     store: cache.Cache, n_workers: int, report: BuildReport,
                     inputs: dict[str, str], before,
                     meanwhile: Callable[[], None] | None = None) -> None:
    """Execute a wave, its kernels pointed at the values it reads (inherited by the forks)."""
    if not (stale and recorded):
        _execute_into_cache(stale, store, n_workers, report, inputs, before, meanwhile)
        return
    cache.write_json_atomic(RECORDED_JSON, recorded)
    os.environ[RECORDED_VARIABLE] = str(RECORDED_JSON)
    try:
        _execute_into_cache(stale, store, n_workers, report, inputs, before, meanwhile)
    finally:
        os.environ.pop(RECORDED_VARIABLE, None)


def _stale_jobs(jobs: list[NotebookJob], store: cache.Cache, shared: dict[str, str],
                cell_timeout: int | None, report: BuildReport,
                recorded: dict[str, list[dict]]) -> list[NotebookJob]:
    """Key every job; return those whose inputs changed since their cached execution. What
    a job reads of other notebooks is part of its key: it runs again when those values move."""
    stale = []
    for job in jobs:
        reads = {"reads": {name: recorded[name] for name in sorted(job.reads)}} \
            if job.reads else {}
        job.key = cache.notebook_key(job.source, job.parameters, {**shared, **reads})
        job.output = EXECUTED_DIR / f"{job.name}.ipynb"
        job.cell_timeout = cell_timeout or job.cell_timeout
        if store.is_fresh(job.name, job.key, job.output):
            report.cached.append(job.name)
            log(f"  {job.name:<24} up to date")
        else:
            stale.append(job)
    return stale


def _execute_into_cache(stale: list[NotebookJob], store: cache.Cache, n_workers: int,
                        report: BuildReport, inputs: dict[str, str], before,
                        meanwhile: Callable[[], None] | None = None) -> None:
    """Execute the stale notebooks; cache each that ran; raise BuildError if any failed
    (those that succeeded stay cached, so the next build does not run them again) or if an
    input changed while they ran (then none is cached: each may have read either version)."""
    succeeded: dict[str, float] = {}  # name -> seconds, only for notebooks that ran through

    def done(name: str, state: str, seconds: float) -> None:
        if state == "executed":
            succeeded[name] = seconds
        log(f"  {name:<24} {state:<10} {seconds:6.1f} s")

    failures = execute_jobs(stale, n_workers, done, meanwhile)
    if stale:
        _check_inputs_unchanged(inputs, "while the notebooks ran", [j.name for j in stale],
                                before)
    for job in stale:
        if job.name in succeeded:
            store.put(job.name, _cache_entry(job, succeeded[job.name]))
            report.executed.append(job.name)
    if failures:
        raise BuildError(f"the book was not rebuilt; {published_status(before)}.\n"
                         + "\n".join(f"  {failure}" for failure in failures))


def _book_state(jobs: list[NotebookJob], entries: dict[str, dict], executed: list[str],
                commit: str, versions: dict[str, str]):
    """What the generated pages and the chapters' provenance boxes say about this build
    (`versions`: `pages.package_versions()`)."""
    from cqbook.build import pages
    from cqbook.dataset.descriptor import datapackage_hash

    return pages.BookState(
        notebooks={job.name: pages.NotebookState(
            job.name, entries[job.name]["parameters"], entries[job.name]["defaults"],
            entries[job.name].get("seconds"),
            "executed" if job.name in executed else "cached") for job in jobs},
        commit=commit, data_hash=datapackage_hash(),
        versions=versions, python=sys.version.split()[0])


def _cache_entry(job: NotebookJob, seconds: float | None = None) -> dict[str, Any]:
    import nbformat

    from cqbook.analysis.headlines import collect

    notebook = nbformat.read(job.output, as_version=4)
    return {"key": job.key, "parameters": job.parameters,
            "defaults": job.parameters == job.defaults,
            "seconds": None if seconds is None else round(seconds, 1),
            "output_digest": cache.file_digest(job.output),
            "headlines": collect(notebook),
            "figures": results.figure_rows(job.name, notebook)}


def write_results(entries: dict[str, dict]) -> None:
    headline_rows = [row for name, entry in entries.items()
                     for row in results.headline_rows(name, entry["headlines"],
                                                      entry["parameters"])]
    figure_rows = [row for entry in entries.values() for row in entry.get("figures", [])]
    for path, text in ((results.HEADLINES_CSV,
                        results.to_csv(headline_rows, results.HEADLINE_COLUMNS)),
                       (results.FIGURES_CSV, results.to_csv(figure_rows, results.FIGURE_COLUMNS))):
        if results.write_if_changed(path, text):
            log(f"{path.relative_to(REPO_ROOT)} changed: commit it with your change")


def _book_key(jobs: list[NotebookJob], book_files: list[Path], shared: dict[str, str],
              commit: str = "") -> str:
    """Everything the HTML shows: the notebooks' keys, the prose, the package code and the
    commit the provenance boxes print (a new commit rebuilds the HTML, executes nothing)."""
    digest = hashlib.sha256()
    digest.update(f"commit:{commit}\n".encode())
    for job in jobs:
        digest.update(f"{job.name}:{job.key}\n".encode())
    digest.update(cache.tree_digest(book_files).encode())
    digest.update(shared["package"].encode())
    return digest.hexdigest()
