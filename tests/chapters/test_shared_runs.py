"""A chapter run with the same values is executed once per test session and shared
(chapter_runs.shared_run); other values, or another notebook, are runs of their own; a run
that failed is run again by the next test that asks."""

from __future__ import annotations

import os

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
