"""Faults against the published book itself (issue 21, sections 1, 3, 6 and 7), through the
real command line: a book that is not exactly what the pipeline built is never called up to
date, nothing a user put under `_build/` is deleted, failures say only what is true about the
published book, and a build's lock and stage cannot be taken from under it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cqbook, executed_notebooks
from test_faults import book_snapshot, set_cell_source

pytestmark = pytest.mark.slow

JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def build_tree(repo: Path) -> dict[str, tuple]:
    """Every entry under `_build/`, with size, mtime and link target: what `jupyter-book
    build` must not touch."""
    root = repo / "_build"
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns,
                                             os.readlink(p) if p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


def no_traceback(result: subprocess.CompletedProcess) -> bool:
    return "Traceback" not in result.stdout + result.stderr


def set_cell(repo: Path, notebook: str, index: int, source: str, tags=None) -> None:
    set_cell_source(repo, notebook, index, source)
    if tags is not None:
        path = repo / "notebooks" / f"{notebook}.ipynb"
        content = json.loads(path.read_text())
        content["cells"][index].setdefault("metadata", {})["tags"] = tags
        path.write_text(json.dumps(content, indent=1))


# ------------------------------------------------------------------ 1. jupyter-book build


@pytest.mark.parametrize("arguments", [
    ["build", "."],
    ["build", ".", "--builder", "dirhtml"],
    ["build", "notebooks/alpha.ipynb"],
    ["build", ".", "--path-output", "elsewhere"],
], ids=["book", "dirhtml", "one-page", "path-output"])
def test_jupyter_book_build_is_refused_before_writing_anything(fixture_repo, arguments):
    assert JUPYTER_BOOK.exists()
    before_tree, before_book = build_tree(fixture_repo), book_snapshot(fixture_repo)
    result = subprocess.run([str(JUPYTER_BOOK), *arguments], cwd=fixture_repo, text=True,
                            capture_output=True, timeout=300, check=False,
                            env={**os.environ, "PYTHONPATH": str(fixture_repo)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not a book stage made by the pipeline" in result.stderr
    assert "Run `make book`" in result.stderr and no_traceback(result)
    assert build_tree(fixture_repo) == before_tree  # not a file made, moved or touched
    assert book_snapshot(fixture_repo) == before_book
    assert not (fixture_repo / "elsewhere").exists()
    again = cqbook(fixture_repo, "build")
    assert again.returncode == 0 and "book up to date: Sphinx skipped" in again.stdout


def test_jupyter_book_build_in_a_fresh_clone_is_refused_and_makes_no_build_folder(
        fixture_repo):
    shutil.rmtree(fixture_repo / "_build")
    result = subprocess.run([str(JUPYTER_BOOK), "build", "."], cwd=fixture_repo, text=True,
                            capture_output=True, timeout=300, check=False,
                            env={**os.environ, "PYTHONPATH": str(fixture_repo)})
    assert result.returncode == 2 and "Run `make book`" in result.stderr
    assert not (fixture_repo / "_build").exists()


# ------------------------------------------------------------------ 1./3. what _build/html is


def test_a_folder_of_the_users_at_html_is_moved_aside_never_deleted(fixture_repo):
    before = book_snapshot(fixture_repo)
    html = fixture_repo / "_build" / "html"
    html.unlink()
    html.mkdir()
    (html / "my-notes.txt").write_text("mine\n")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "_build/html is a folder of its own" in result.stdout
    kept = list((fixture_repo / "_build").glob("html-kept-*"))
    assert len(kept) == 1 and (kept[0] / "my-notes.txt").read_text() == "mine\n"
    assert f"moved to _build/{kept[0].name}" in result.stdout
    assert html.is_symlink() and book_snapshot(fixture_repo) == before
    # ... and it stays: later builds, which tidy _build/, leave it alone.
    (fixture_repo / "book" / "index.md").open("a").write("\nOne more line.\n")
    assert cqbook(fixture_repo, "build").returncode == 0
    assert (kept[0] / "my-notes.txt").read_text() == "mine\n"


def test_a_file_at_html_is_moved_aside_when_a_new_book_is_published(fixture_repo):
    html = fixture_repo / "_build" / "html"
    html.unlink()
    html.write_text("a file of mine\n")
    (fixture_repo / "book" / "index.md").open("a").write("\nEdited.\n")  # a real rebuild
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    kept = list((fixture_repo / "_build").glob("html-kept-*"))
    assert [k.read_text() for k in kept] == ["a file of mine\n"]
    assert "Edited." in (html / "book" / "index.html").read_text()


@pytest.mark.parametrize("change", ["elsewhere", "missing", "dangling"])
def test_html_link_changed_by_hand_is_put_back_to_the_recorded_book(fixture_repo, tmp_path,
                                                                     change):
    before = book_snapshot(fixture_repo)
    html = fixture_repo / "_build" / "html"
    other = tmp_path / "other-book"
    other.mkdir()
    (other / "index.html").write_text("someone else's page\n")
    html.unlink()
    if change == "elsewhere":
        html.symlink_to(other)
    elif change == "dangling":
        html.symlink_to("books/no-such-book")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "republishing the book as recorded" in result.stdout
    assert "Sphinx" not in result.stdout.replace("Sphinx skipped", "")
    assert book_snapshot(fixture_repo) == before
    assert (other / "index.html").read_text() == "someone else's page\n"  # not ours: kept


def _edit_a_page(repo):
    (repo / "_build" / "html" / "index.html").open("a").write("<p>edited</p>\n")


def _add_a_file(repo):
    (repo / "_build" / "html" / "notebooks" / "extra.html").write_text("<p>extra</p>\n")


def _remove_a_page(repo):
    (repo / "_build" / "html" / "notebooks" / "beta.html").unlink()


def _remove_every_book(repo):
    shutil.rmtree(repo / "_build" / "books")


PUBLISHED_CHANGES = {
    "page-edited": (_edit_a_page, "1 file changed (index.html)"),
    "file-added": (_add_a_file, "1 file added (notebooks/extra.html)"),
    "page-removed": (_remove_a_page, "1 file removed (notebooks/beta.html)"),
    "books-deleted": (_remove_every_book, "is gone"),
}


@pytest.mark.parametrize("change", PUBLISHED_CHANGES, ids=list(PUBLISHED_CHANGES))
def test_published_book_changed_after_publishing_is_rebuilt_and_the_change_kept(fixture_repo,
                                                                                change):
    """Inputs unchanged, so only the content check can see it (as after `sphinx-build` or
    `jupyter-book build` writing through the link)."""
    before = book_snapshot(fixture_repo)
    alter, reason = PUBLISHED_CHANGES[change]
    alter(fixture_repo)
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rebuilding the book" in result.stdout and reason in result.stdout
    assert executed_notebooks(result.stdout) == set()
    after = book_snapshot(fixture_repo)
    assert set(after) == set(before)
    assert b"edited" not in (fixture_repo / "_build" / "html" / "index.html").read_bytes()
    kept = list((fixture_repo / "_build").glob("html-kept-*"))
    if change == "books-deleted":
        assert kept == []
    else:  # someone wrote into the book: what they wrote is kept, and said where
        assert len(kept) == 1 and f"kept at _build/{kept[0].name}" in result.stdout
    again = cqbook(fixture_repo, "build")
    assert "book up to date: Sphinx skipped" in again.stdout


# ------------------------------------------------------------------ 1. notebooks stopping early

# papermill calls a notebook that raised SystemExit(0) or SystemExit('') a success, though
# no cell after it ran (its raise_for_execution_errors lets them through on purpose).
STOPS_EARLY = {
    "raise-SystemExit-0": ("raise SystemExit(0)", "SystemExit: 0: the notebook stopped here"),
    "sys-exit-0": ("import sys\nsys.exit(0)", "SystemExit: 0: the notebook stopped here"),
    "sys-exit-no-argument": ("import sys\nsys.exit()", "SystemExit: : the notebook stopped"),
    "bare-SystemExit-warnings-off": (
        "import warnings\nwarnings.simplefilter('ignore')\nraise SystemExit",
        "SystemExit: : the notebook stopped here"),
    "os-exit-0": ("import os\nos._exit(0)", "DeadKernelError"),
    "kills-its-kernel": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                         "DeadKernelError"),
}


@pytest.mark.parametrize("case", STOPS_EARLY, ids=list(STOPS_EARLY))
def test_a_notebook_that_stops_early_without_an_error_fails_build_and_run(fixture_repo, case):
    source, message = STOPS_EARLY[case]
    before = book_snapshot(fixture_repo)
    cached = (fixture_repo / "_build" / "cache" / "beta.json").read_bytes()
    path = fixture_repo / "notebooks" / "beta.ipynb"
    content = json.loads(path.read_text())
    # beta: cell 2 imports `record`, cell 3 records a headline value; the stop goes between.
    content["cells"].insert(3, {"cell_type": "code", "execution_count": None, "id": "stop",
                                "metadata": {}, "outputs": [], "source": source})
    path.write_text(json.dumps(content, indent=1))
    for arguments in (["build"], ["run", "beta"]):
        result = cqbook(fixture_repo, *arguments, timeout=300)
        assert result.returncode == 2, (arguments, result.stdout + result.stderr)
        assert f"beta.ipynb: cell 3 (`{source.splitlines()[0]}`)" in result.stderr
        assert message in result.stderr and no_traceback(result)
        if "SystemExit" in message:  # and the first cell that never ran, by name
            assert "1 cell never ran, from cell 4 (`_ = record(" in result.stderr
    assert book_snapshot(fixture_repo) == before
    assert (fixture_repo / "_build" / "cache" / "beta.json").read_bytes() == cached
    assert not list((fixture_repo / "runs").glob("*/headline_values.json"))


# ------------------------------------------------------------------ 1. a cell editing inputs

INPUT_EDITS = {
    "edits-data": (("from cqbook.paths import DATA_DIR\n"
                   "(DATA_DIR / 'README.md').open('a').write('edited by a cell\\n')"),
                   "data/README.md changed"),
    "adds-to-book": (("from cqbook.paths import BOOK_DIR\n"
                     "(BOOK_DIR / 'extra.md').write_text('# Extra\\n')"), "book/extra.md added"),
    "removes-a-parameter-file": (("from cqbook.paths import PARAMS_DIR\n"
                                 "(PARAMS_DIR / 'book.yml').unlink()"),
                                 "params/book.yml removed"),
    "edits-own-notebook": (("from cqbook.paths import NOTEBOOKS_DIR\n"
                           "p = NOTEBOOKS_DIR / 'alpha.ipynb'\np.write_text(p.read_text())\n"
                           "(NOTEBOOKS_DIR / 'beta.ipynb').open('a').write('\\n')"),
                           "notebooks/beta.ipynb changed"),
}


@pytest.mark.parametrize("case", INPUT_EDITS, ids=list(INPUT_EDITS))
def test_a_cell_that_changes_the_inputs_fails_the_build_naming_what_changed(fixture_repo,
                                                                            case):
    source, changed = INPUT_EDITS[case]
    before = book_snapshot(fixture_repo)
    cached = (fixture_repo / "_build" / "cache" / "beta.json").read_bytes()
    set_cell(fixture_repo, "beta", 2, "from cqbook.analysis.headlines import record\n" + source)
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "inputs changed while the notebooks ran" in result.stderr
    assert changed in result.stderr and "nothing was cached or published" in result.stderr
    assert "the published book is unchanged" in result.stderr and no_traceback(result)
    assert book_snapshot(fixture_repo) == before
    assert (fixture_repo / "_build" / "cache" / "beta.json").read_bytes() == cached


def test_a_process_left_behind_that_edits_data_later_stops_the_publishing(fixture_repo):
    before = book_snapshot(fixture_repo)
    # Detached, it outlives its kernel and writes while Sphinx runs: it waits for Sphinx's
    # workspace record to go (removed when Sphinx starts, written again when it succeeds), so
    # the build cannot outrun it on a fast machine. Caught before the book is published.
    set_cell(fixture_repo, "beta", 2, "from cqbook.analysis.headlines import record\n"
             "import subprocess, sys\n"
             "from cqbook.paths import BUILD_DIR, DATA_DIR\n"
             "subprocess.Popen([sys.executable, '-c', 'import pathlib, sys, time\\n"
             "record = pathlib.Path(sys.argv[2])\\n"
             "for _ in range(600):\\n"
             "    if not record.exists(): break\\n"
             "    time.sleep(0.01)\\n"
             "pathlib.Path(sys.argv[1]).open(\"a\").write(\"late\\\\n\")', "
             "str(DATA_DIR / 'README.md'), str(BUILD_DIR / 'sphinx' / 'en' / 'built.json')], "
             "start_new_session=True)")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "inputs changed while" in result.stderr and "data/README.md changed" in result.stderr
    assert no_traceback(result)
    assert book_snapshot(fixture_repo) == before


# ------------------------------------------------------------------ 3. only what is true

SELF_HARM = {
    "deletes-books": (("import shutil\nfrom cqbook.paths import BUILD_DIR\n"
                      "shutil.rmtree(BUILD_DIR / 'books')"),
                      "_build/html is now a link to _build/books/"),
    "deletes-the-link": ("from cqbook.paths import BUILD_DIR\n(BUILD_DIR / 'html').unlink()",
                         "_build/html is now gone"),
    "edits-a-page": (("from cqbook.paths import BUILD_DIR\n"
                     "(BUILD_DIR / 'html' / 'index.html').open('a').write('x')"),
                     "1 file changed (index.html)"),
}


@pytest.mark.parametrize("case", SELF_HARM, ids=list(SELF_HARM))
def test_a_failed_build_says_what_happened_to_the_published_book(fixture_repo, case):
    source, said = SELF_HARM[case]
    set_cell(fixture_repo, "beta", 3, source + "\nraise RuntimeError('after the damage')")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2
    assert "RuntimeError: after the damage" in result.stderr
    assert "the published book is unchanged" not in result.stderr
    assert "the published book changed during this build" in result.stderr
    assert said in result.stderr and no_traceback(result)


def test_a_failed_build_says_the_book_is_unchanged_when_it_is(fixture_repo):
    before = book_snapshot(fixture_repo)
    set_cell(fixture_repo, "beta", 3, "raise RuntimeError('plain failure')")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2 and "the published book is unchanged" in result.stderr
    assert book_snapshot(fixture_repo) == before


# ------------------------------------------------------------------ 6. unreadable records

CACHE_DAMAGE = {
    "random-bytes": bytes(range(256)) * 3,
    "half-written": b'{"key": "ab',
    "a-list": b"[1, 2, 3]\n",
    "no-headlines": b'{"key": "x", "parameters": {}, "output_digest": "y"}\n',
}


@pytest.mark.parametrize("damage", CACHE_DAMAGE, ids=list(CACHE_DAMAGE))
def test_a_damaged_cache_entry_is_a_missing_one(fixture_repo, damage):
    before = book_snapshot(fixture_repo)
    (fixture_repo / "_build" / "cache" / "alpha.json").write_bytes(CACHE_DAMAGE[damage])
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    notes = [line for line in result.stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and notes[0].endswith("alpha runs again")
    assert notes[0].startswith("note: _build/cache/alpha.json is not a readable cache entry (")
    assert executed_notebooks(result.stdout) == {"alpha"}
    assert book_snapshot(fixture_repo) == before  # the same inputs made the same book
    entry = json.loads((fixture_repo / "_build" / "cache" / "alpha.json").read_text())
    assert entry["headlines"][0]["value"] == 42  # rewritten whole


PUBLISHED_DAMAGE = {
    "random-bytes": bytes(range(255, -1, -1)) * 3,
    "empty-object": b"{}\n",
    "folder-outside": json.dumps({"book_key": "x", "folder": "../../../etc",
                                  "manifest": {}}).encode(),
}


@pytest.mark.parametrize("damage", PUBLISHED_DAMAGE, ids=list(PUBLISHED_DAMAGE))
def test_a_damaged_published_record_rebuilds_the_book(fixture_repo, damage):
    state = fixture_repo / "_build" / "published.json"
    state.write_bytes(PUBLISHED_DAMAGE[damage])
    # The web font's cached numbers, damaged too: the rebuild subsets the font again.
    for stats in (fixture_repo / "_build" / "cache" / "webfont").glob("*.json"):
        stats.write_bytes(b"\xff\xfe not json")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note: _build/published.json is" in result.stdout and no_traceback(result)
    assert "(subset)" in result.stdout  # the font: made again, not read from the damage
    assert json.loads(state.read_text())["folder"].startswith("books/")
    again = cqbook(fixture_repo, "build")
    assert "book up to date: Sphinx skipped" in again.stdout and "note:" not in again.stdout


@contextlib.contextmanager
def unwritable(path: Path):
    """`path` made unwritable for this process: immutable as root (root ignores modes)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)


def test_an_unwritable_build_folder_is_one_line_exit_2(fixture_repo):
    before = book_snapshot(fixture_repo)
    (fixture_repo / "book" / "index.md").open("a").write("\nEdited.\n")
    with unwritable(fixture_repo / "_build"):
        result = cqbook(fixture_repo, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip()] and "_build is not writable" in result.stderr
    assert no_traceback(result) and executed_notebooks(result.stdout) == set()
    assert book_snapshot(fixture_repo) == before


def test_an_unwritable_cache_folder_is_one_line_exit_2(fixture_repo):
    before = book_snapshot(fixture_repo)
    (fixture_repo / "_build" / "cache" / "beta.json").unlink()  # beta must run and be cached
    with unwritable(fixture_repo / "_build" / "cache"):
        result = cqbook(fixture_repo, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "cannot write _build/cache/" in error[0]
    assert "the published book is unchanged" in error[0] and no_traceback(result)
    assert book_snapshot(fixture_repo) == before


def test_build_folder_that_is_a_file_is_one_line_exit_2(fixture_repo):
    shutil.rmtree(fixture_repo / "_build")
    (fixture_repo / "_build").write_text("not a folder\n")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2 and "_build is a file, not a folder" in result.stderr
    assert no_traceback(result)


# ------------------------------------------------------------------ 7. the lock and stages


def _lock_is_held(repo: Path) -> bool:
    handle = os.open(repo, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(handle)


def _popen_build(repo: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cqbook", "build"], cwd=repo, text=True,
                            env={**os.environ, "PYTHONPATH": str(repo)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_tidying_build_files_away_does_not_let_a_second_build_run_beside_the_first(
        fixture_repo):
    for name in ("alpha", "beta"):
        set_cell_source(fixture_repo, name, 0, f"# {name.title()}\n\nRevised.")
    first = _popen_build(fixture_repo)
    deadline = time.time() + 120
    while not _lock_is_held(fixture_repo) and time.time() < deadline:
        time.sleep(0.05)
    assert _lock_is_held(fixture_repo)
    # What a user tidying up might remove; none of it is the lock.
    for leftover in [fixture_repo / "_build" / ".lock", *(fixture_repo / "_build").glob(".*")]:
        if leftover.is_file():
            leftover.unlink()
    second = _popen_build(fixture_repo)
    outputs = [process.communicate(timeout=900) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    assert "waiting: another build holds the lock" in outputs[1][0]
    assert executed_notebooks(outputs[0][0]) == {"alpha", "beta"}
    assert executed_notebooks(outputs[1][0]) == set()  # it ran after the first, not beside it


def test_a_build_never_deletes_a_stage_another_process_holds(fixture_repo):
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, time\nfrom cqbook.build import publishing\n"
         "print(publishing.new_stage(), flush=True)\ntime.sleep(900)")],
        cwd=fixture_repo, env={**os.environ, "PYTHONPATH": str(fixture_repo)}, text=True,
        stdout=subprocess.PIPE)
    try:
        held = Path(holder.stdout.readline().strip())
        # A holder that failed to start prints nothing: the test would then hold no stage.
        assert held.parent == fixture_repo / "_build" / "stage" and held.is_dir(), held
        (held / "work-in-progress.txt").write_text("still being staged\n")
        abandoned = fixture_repo / "_build" / "stage" / "0123456789ab"  # a killed build's
        abandoned.mkdir()
        (abandoned / ".cqbook-stage").write_text("")
        (fixture_repo / "book" / "index.md").open("a").write("\nEdited.\n")  # Sphinx runs
        result = cqbook(fixture_repo, "build")
        assert result.returncode == 0, result.stdout + result.stderr
        assert (held / "work-in-progress.txt").read_text() == "still being staged\n"
        assert not abandoned.exists()
    finally:
        holder.kill()
        holder.wait()


def test_the_manifest_recorded_is_the_published_books_content(fixture_repo):
    """The content check of a no-op build compares with the manifest of what was published
    (its cost is measured in benchmarks/run_benchmarks.py, not here)."""
    from cqbook.build import publishing

    html = (fixture_repo / "_build" / "html").resolve()
    files = publishing.manifest(html)
    recorded = json.loads((fixture_repo / "_build" / "published.json").read_text())
    assert files == recorded["manifest"]
    assert hashlib.sha256((html / "index.html").read_bytes()).hexdigest() == \
        files["index.html"][1]
