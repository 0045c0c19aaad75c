"""A chapter run with the same values is executed once per test session and shared
(chapter_runs.shared_run); other values, or another notebook, are runs of their own; a run
that failed is run again by the next test that asks. Under it, session_shared.made_once makes
a thing once for all the session's workers, which wait for it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import chapter_runs as chapter
import pytest

from cqbook.build import reruns


@pytest.fixture
def executions(monkeypatch, tmp_path):
    made, failures = [], []

    def run(notebook, values, output_root):
        if failures:
            raise failures.pop()
        made.append((notebook, values))
        folder = output_root / f"{notebook}-{len(made)}"
        folder.mkdir(parents=True)
        return folder

    monkeypatch.setattr(reruns, "run", run)

    class Factory:  # a session folder of this test's own, so no other test's runs are found
        def getbasetemp(self):
            return tmp_path / "popen-gw0" if os.environ.get(
                "PYTEST_XDIST_WORKER") else tmp_path

    return made, failures, Factory()


def test_the_same_values_are_run_once_and_shared(executions):
    made, _, factory = executions
    first = chapter.shared_run("banan", {"a": "1"}, factory)
    assert chapter.shared_run("banan", {"a": "1"}, factory) == first
    assert chapter.run_variants("banan", {"default": {"a": "1"}}, factory) == {"default": first}
    assert made == [("banan", {"a": "1"})]
    assert chapter.shared_run("banan", {"a": "2"}, factory) != first
    assert chapter.shared_run("tongliang", {"a": "1"}, factory) != first
    assert len(made) == 3


def test_a_failed_run_is_run_again(executions):
    made, failures, factory = executions
    failures.append(RuntimeError("the kernel died"))
    with pytest.raises(RuntimeError):
        chapter.shared_run("banan", {"a": "1"}, factory)
    folder = chapter.shared_run("banan", {"a": "1"}, factory)
    assert made == [("banan", {"a": "1"})] and folder.is_dir()


def test_two_workers_asking_at_once_make_it_once_and_both_read_it(tmp_path):
    # Two processes, as two xdist workers: the second waits on the lock, then reads.
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(Path(chapter.__file__).parent)!r})
        from session_shared import made_once

        class Factory:
            def getbasetemp(self):
                return Path({str(tmp_path)!r}) / sys.argv[1]

        def make(folder):
            with open({str(tmp_path / "made")!r}, "a") as made:
                made.write(sys.argv[1] + "\\n")
            time.sleep(1)
            return folder / "thing"

        print(made_once(Factory(), "thing", make))
    """)
    workers = [subprocess.Popen([sys.executable, "-c", script, worker], text=True,
                                stdout=subprocess.PIPE,
                                env={**os.environ, "PYTEST_XDIST_WORKER": worker})
               for worker in ("gw0", "gw1")]
    printed = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert printed == {str(tmp_path / "thing" / "thing")}
    assert len((tmp_path / "made").read_text().splitlines()) == 1
