"""Shared fixtures: copies of the repository in which the real command line runs.

The pipeline's own tests use small fixture notebooks (tests/fixtures) in a copy of the
repository, so that they exercise the real command line and the real pipeline without
depending on the chapters' content or touching the developer's own `_build`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOT_COPIED = shutil.ignore_patterns(".venv", "_build", "runs", "sweeps", ".git", "__pycache__",
                                    "test-artifacts", ".pytest_cache", ".ruff_cache")

# Fixture notebooks are inputs of the pipeline's tests, not notebooks for nbval to run.
collect_ignore = ["fixtures"]


def copy_repository(destination: Path, fixture_book: bool = True) -> Path:
    shutil.copytree(REPO, destination, ignore=NOT_COPIED, symlinks=True)
    if fixture_book:
        shutil.rmtree(destination / "notebooks")
        shutil.copytree(FIXTURES / "notebooks", destination / "notebooks")
        shutil.rmtree(destination / "book")
        shutil.copytree(FIXTURES / "book", destination / "book")
        if (REPO / "book" / "_static").exists():  # the book's own assets (CSS, fonts)
            shutil.copytree(REPO / "book" / "_static", destination / "book" / "_static")
        shutil.copy(FIXTURES / "_toc.yml", destination / "_toc.yml")
        shutil.copy(FIXTURES / "book.yml", destination / "params" / "book.yml")
    return destination


def cqbook(repo: Path, *arguments: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the real command line in `repo` (its own copy of the package comes first)."""
    environment = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run([sys.executable, "-m", "cqbook", *arguments], cwd=repo,
                          capture_output=True, text=True, timeout=timeout, env=environment,
                          check=False)


def executed_notebooks(output: str) -> set[str]:
    return set(re.findall(r"^\s+(\S+)\s+executed\s", output, flags=re.MULTILINE))


@pytest.fixture(scope="session")
def built_fixture_repo(tmp_path_factory) -> Path:
    """A repository copy with the fixture book built once."""
    repo = copy_repository(tmp_path_factory.mktemp("built") / "repo")
    result = cqbook(repo, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return repo


@pytest.fixture
def fixture_repo(built_fixture_repo, tmp_path) -> Path:
    """A private copy of the built fixture repository, free to be changed by one test."""
    repo = tmp_path / "repo"
    shutil.copytree(built_fixture_repo, repo, symlinks=True)
    return repo


@pytest.fixture(scope="session")
def real_book_repo(tmp_path_factory) -> Path:
    """A repository copy with the real book built once (shared by the real-book tests and
    the browser tests)."""
    repo = copy_repository(tmp_path_factory.mktemp("real") / "repo", fixture_book=False)
    result = cqbook(repo, "build", timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    return repo


def git_commit_all(repo: Path, message: str = "snapshot") -> None:
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm",
                     message]):
        if command[1] == "init" and (repo / ".git").exists():
            continue
        subprocess.run(command, cwd=repo, check=True, capture_output=True)


def change_vehicles_shipped(repo: Path, old: str = "12702", new: str = "13702") -> None:
    """A real data change: the page, its figure row and the recorded checksum, together."""
    import hashlib

    page = repo / "data" / "raw" / "chongqing_daily_page.txt"
    old_hash = hashlib.sha256(page.read_bytes()).hexdigest()
    page.write_bytes(page.read_bytes().replace(old.encode(), new.encode()))
    new_hash = hashlib.sha256(page.read_bytes()).hexdigest()
    for path in [repo / "data" / "figures.csv", repo / "data" / "datapackage.json",
                 *(repo / "data" / "raw").glob("*.yml")]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(old, new).replace(old_hash, new_hash), encoding="utf-8")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright (its own browser download does not work here).
    Missing, it fails the run in CI and skips elsewhere."""
    from browsing import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        message = (f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y "
                   "chromium`; .ci/run does) or set CHROMIUM to its path")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
