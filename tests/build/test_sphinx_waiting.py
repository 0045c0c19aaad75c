"""Sphinx started while the notebooks run: a build that executes hands each edition's staged
book to one Sphinx process that has already imported everything, which builds it in a fork of
itself; no such process outlives its build (ended by the build, by the end of its input, or by
its build being killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cqbook, executed_notebooks

from cqbook.build import engine, publishing, sphinx_incremental

WAITING = [sys.executable, "-m", "cqbook.build.sphinx_incremental", sphinx_incremental.WAITING,
           str(os.getpid())]


def ended(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (a container's init may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_until_ended(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ended(pid):
            return True
        time.sleep(0.1)
    return ended(pid)


def sphinx_processes_in(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if b"cqbook.build.sphinx_incremental" in command and not ended(int(entry.name)) \
                    and Path(os.readlink(entry / "cwd")) == folder:
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def test_the_start_up_preloads_what_it_names_then_freezes_it():
    # sphinx-external-toc 1.1 (pinned) disables Sphinx's toctree collector by scanning
    # gc.get_objects(): the one each build's Sphinx makes, after the start-up, must be seen.
    check = ("import gc, sys\n"
             "from cqbook.analysis import jieba_dictionary as jd\n"
             "from cqbook.build import sphinx_incremental as s\n"
             "s.start_up()\n"
             "missing = [m for m in s.IMPORTED_LATE if m not in sys.modules]\n"
             "assert not missing, missing\n"
             "assert 'jieba' in sys.modules and jd._book_words_read\n"
             "assert (jd._book_words or jd._whole) is not None\n"
             "from sphinx.application import builtin_extensions\n"
             "assert all(m in sys.modules for m in builtin_extensions)\n"
             "from soupsieve.css_parser import _cached_css_compile\n"
             "assert _cached_css_compile.cache_info().currsize >= len(s.THEME_SELECTORS)\n"
             "from myst_nb.core.render import load_mime_renders, load_renderer\n"
             "assert load_renderer.cache_info().currsize == 1\n"
             "assert load_mime_renders.cache_info().currsize == 1\n"
             "assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()\n"
             "from sphinx.environment.collectors.toctree import TocTreeCollector\n"
             "made = TocTreeCollector()\n"
             "assert any(o is made for o in gc.get_objects())\n"
             "assert not any(o is s.__dict__ for o in gc.get_objects())\n")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr


def test_the_selectors_compiled_beforehand_are_those_the_pinned_theme_matches():
    import re

    import pydata_sphinx_theme

    from cqbook.build import sphinx_incremental

    source = (Path(pydata_sphinx_theme.__file__).parent / "toctree.py").read_text()
    used = {re.sub(r"\{\w+\}", "1", selector)
            for selector in re.findall(r"\.select(?:_one)?\(f?\"([^\"]+)\"\)", source)}
    assert used and used <= set(sphinx_incremental.THEME_SELECTORS), used


def test_a_waiting_sphinx_given_no_book_ends_at_the_end_of_its_input():
    process = subprocess.Popen(WAITING, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    process.stdin.close()
    assert process.wait(timeout=120) == 0
    assert process.stdout.read() == b""  # nothing built, nothing said


def test_a_waiting_sphinx_ends_with_the_build_that_did_not_use_it():
    with publishing.waiting_sphinx():
        publishing.start_waiting_sphinx()
        publishing.start_waiting_sphinx()  # one, however often it is asked for
        assert len(publishing._waiting) == 1
        waiting = publishing._waiting[0].process
        assert waiting.poll() is None
    assert waiting.poll() is not None and publishing._waiting == []


def test_each_build_given_is_built_in_a_fork_of_one_start_up(tmp_path):
    """Two orders (books that do not exist: Sphinx refuses them): each built in its own fork,
    each said in its own log, with the code of its own build."""
    server = publishing.WaitingSphinx()
    try:
        runs = []
        for name in ("one", "two"):
            arguments = [str(tmp_path / name / "src"), str(tmp_path / name / "html"),
                         str(tmp_path / name / "doctrees"), "1"]
            runs.append((server.build(arguments, tmp_path / f"{name}.log"), name))
        codes = [run.wait() for run, _name in runs]
        assert codes[0] == codes[1] and codes[0] in (1, sphinx_incremental.CRASHED), codes
        assert sorted(server.pids) == [1, 2] and len(set(server.pids.values())) == 2
        assert server.process.pid not in server.pids.values()
        for _run, name in runs:
            log = (tmp_path / f"{name}.log").read_text(encoding="utf-8")
            assert sphinx_incremental.PRELOADED_LINE in log, log
        server.process.stdin.close()
        assert server.process.wait(timeout=60) == 0  # input ended, every build ended
    finally:
        server.end()


def test_a_waiting_sphinx_ends_when_the_build_that_started_it_is_killed(tmp_path):
    # The killed build's end of the pipe can stay open (a kernel it forked holds it), so
    # the waiting process watches its parent too.
    starts_one = ("import os, time\n"
                  "from cqbook.build import publishing\n"
                  "publishing.start_waiting_sphinx()\n"
                  "kernel = os.fork()\n"
                  "if kernel == 0:\n"
                  "    time.sleep(600)\n"
                  "    os._exit(0)\n"
                  "print(publishing._waiting[0].process.pid, kernel, flush=True)\n"
                  "time.sleep(600)\n")
    build = subprocess.Popen([sys.executable, "-c", starts_one], stdout=subprocess.PIPE,
                             text=True)
    waiting, kernel = map(int, build.stdout.readline().split())
    try:
        assert not ended(waiting)
        build.send_signal(signal.SIGKILL)
        build.wait()
        assert not ended(kernel)  # so the pipe is still open at the other end
        assert wait_until_ended(waiting, 120), f"the waiting Sphinx {waiting} outlived its build"
    finally:
        os.kill(kernel, signal.SIGKILL)


@pytest.mark.slow
def test_a_build_that_executes_hands_its_book_to_a_sphinx_started_before(fixture_repo):
    (fixture_repo / "params" / "book.yml").write_text("alpha:\n  factor: 3\n")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert executed_notebooks(result.stdout) == {"alpha"}
    logs = sorted((fixture_repo / "_build" / "sphinx").glob("*/sphinx.log"))
    assert logs
    for log in logs:
        assert sphinx_incremental.PRELOADED_LINE in log.read_text(encoding="utf-8"), log
    assert sphinx_processes_in(fixture_repo) == []


@pytest.mark.slow
def test_a_failing_cell_leaves_no_waiting_sphinx_behind(fixture_repo):
    from test_faults_book import set_cell

    set_cell(fixture_repo, "beta", 3, "raise RuntimeError('plain failure')")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 2 and "plain failure" in result.stderr
    assert sphinx_processes_in(fixture_repo) == []


@pytest.mark.slow
def test_a_book_rebuilt_without_executing_is_built_in_a_fork_of_the_waiting_sphinx(
        fixture_repo, monkeypatch):
    (fixture_repo / "book" / "index.md").open("a").write("\nOne more sentence.\n")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert executed_notebooks(result.stdout) == set()
    logs = sorted((fixture_repo / "_build" / "sphinx").glob("*/sphinx.log"))
    assert logs
    for log in logs:
        assert sphinx_incremental.PRELOADED_LINE in log.read_text(encoding="utf-8"), log
    assert sphinx_processes_in(fixture_repo) == []
    # With the kernel engine nothing forks: each edition starts up in its own process.
    (fixture_repo / "book" / "index.md").open("a").write("\nAnd another.\n")
    monkeypatch.setenv(engine.ENGINE_VARIABLE, "kernel")
    result = cqbook(fixture_repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    for log in logs:
        assert sphinx_incremental.PRELOADED_LINE not in log.read_text(encoding="utf-8"), log
