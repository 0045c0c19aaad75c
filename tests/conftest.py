"""Shared fixtures: copies of the repository in which the real command line runs.

The pipeline's own tests use small fixture notebooks (tests/fixtures) in a copy of the
repository, so that they exercise the real command line and the real pipeline without
depending on the chapters' content or touching the developer's own `_build`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import command_zygote
import pytest
from session_shared import made_once

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
    """Run the real command line in `repo` (its own copy of the package comes first), forked
    from this test process's zygote where it can stand in for a new interpreter
    (tests/command_zygote.py)."""
    environment = {**os.environ, "PYTHONPATH": str(repo)}
    return command_zygote.run(["cqbook", *arguments], cwd=repo, env=environment,
                              timeout=timeout)


def executed_notebooks(output: str) -> set[str]:
    return set(re.findall(r"^\s+(\S+)\s+executed\s", output, flags=re.MULTILINE))


@pytest.fixture(scope="session")
def built_fixture_repo(tmp_path_factory) -> Path:
    """A repository copy with the fixture book built once per test session, by whichever
    xdist worker asks first (`session_shared.made_once`), read by every worker: copy it
    (`fixture_repo`) to change it."""
    def build(folder: Path) -> Path:
        repo = copy_repository(folder / "repo")
        result = cqbook(repo, "build")
        assert result.returncode == 0, result.stdout + result.stderr
        return repo

    return made_once(tmp_path_factory, "fixture-book", build)


@pytest.fixture
def fixture_repo(built_fixture_repo, tmp_path) -> Path:
    """A private copy of the built fixture repository, free to be changed by one test."""
    repo = tmp_path / "repo"
    shutil.copytree(built_fixture_repo, repo, symlinks=True)
    return repo


@pytest.fixture(scope="session")
def real_book_repo(tmp_path_factory) -> Path:
    """A repository copy with the real book built once per test session, by whichever xdist
    worker asks first (`session_shared.made_once`), and shared read-only by every test that
    reads the real book (the real-book, PDF and browser tests) on every worker. A test that
    changes anything in it fails, naming what changed (`_real_book_stays_as_built`): copy it
    first (`shutil.copytree(real_book_repo, tmp_path / "repo", symlinks=True)`)."""
    def build(folder: Path) -> Path:
        repo = copy_repository(folder / "repo", fixture_book=False)
        result = cqbook(repo, "build", timeout=1800)
        assert result.returncode == 0, result.stdout + result.stderr
        return repo

    repo = made_once(tmp_path_factory, "real-book", build)
    _as_built.setdefault(repo, tree_state(repo))
    return repo


_as_built: dict[Path, dict[str, tuple]] = {}


@pytest.fixture(scope="session")
def printed_book(real_book_repo, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A copy of the real book's repository with both editions printed (`cqbook pdf`), once
    per session: printing publishes the book again, linked to its PDFs, so the session's real
    book stays unprinted. The PDF tests of both editions read it, on one worker
    (`SHARED_BY_MODULES`); those that print or build again leave it as printed (that is what
    they check)."""
    repo = tmp_path_factory.mktemp("pdf") / "repo"
    shutil.copytree(real_book_repo, repo, symlinks=True)
    result = cqbook(repo, "pdf", timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    return repo, result


@pytest.fixture(autouse=True)
def _real_book_stays_as_built(request):
    yield
    if "real_book_repo" not in request.fixturenames:
        return
    repo = request.getfixturevalue("real_book_repo")
    now = tree_state(repo)
    changed = changed_paths(_as_built[repo], now)
    if changed:
        _as_built[repo] = now  # one failure per change, not one for every later test
        pytest.fail(f"this test wrote into the shared real book {repo}, which is read-only: "
                    f"{', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}",
                    pytrace=False)


def tree_state(root: Path) -> dict[str, tuple]:
    """Kind, size and modification time of everything under `root` (bytecode caches aside:
    kernels that import the copy's package write those)."""
    state = {}
    for directory, folders, files in os.walk(root):
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in folders + files:
            path = Path(directory, name)
            info = path.lstat()
            state[path.relative_to(root).as_posix()] = (
                "link" if path.is_symlink() else "dir" if name in folders else "file",
                0 if name in folders else info.st_size, info.st_mtime_ns)
    return state


def changed_paths(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    return sorted(path for path in set(before) | set(after)
                  if before.get(path) != after.get(path))


# Under pytest-xdist (`make test`: `-n 3 --dist loadgroup`) tests that share an expensive
# set-up run on one worker: each module with module-scoped fixtures (a browser module's
# visits of the book; nbval's one kernel per notebook), and the modules named in
# SHARED_BY_MODULES. The rest, mostly one fixture-book build each, is spread test by test.
# What every worker reads (the real book, a chapter's run) is made once by whichever worker
# asks first (tests/session_shared.py), so the real book's tests are spread too: on one
# worker they were the suite's longest path. pytest 9 ignores the node ids that
# xdist 3.8's own `xdist_group` rewrites, so the groups go from the workers (which collect)
# to the controller's scheduler (which does not) through a file.
GROUPS_FOLDER = "CQBOOK_TEST_GROUPS"


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        import tempfile

        os.environ[GROUPS_FOLDER] = tempfile.mkdtemp(prefix="cqbook-test-groups-")


def pytest_unconfigure(config):
    if "PYTEST_XDIST_WORKER" not in os.environ and os.environ.get(GROUPS_FOLDER):
        shutil.rmtree(os.environ.pop(GROUPS_FOLDER), ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    worker, folder = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get(GROUPS_FOLDER)
    if worker and folder:
        groups = {item.nodeid: group for item in items if (group := _shared_setup(item))}
        tmp = Path(folder, f".{worker}.json")
        tmp.write_text(json.dumps(groups), encoding="utf-8")
        tmp.replace(Path(folder, f"{worker}.json"))


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedSetupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # every worker collected by now, and wrote the same
                written = sorted(Path(os.environ[GROUPS_FOLDER]).glob("gw*.json"))
                self.groups = json.loads(written[0].read_text(encoding="utf-8"))
            return self.groups.get(nodeid, nodeid)

    return SharedSetupScheduling(config, log)


# Modules that share a set-up through a cache of their own or a session fixture.
# The PDF modules read one printed copy of the real book, which two of their tests print or
# build again; the browser modules that read the book as shown read one visit of each page
# (`reader_visits`).
SHARED_BY_MODULES = {"test_review.py": "reviewed-repo", "test_review_browser.py": "reviewed-repo",
                     "test_pdf.py": "printed-book", "test_edition_zh_pdf.py": "printed-book",
                     "test_book_browser.py": "reader-visits",
                     "test_edition_zh_browser.py": "reader-visits",
                     "test_accessibility_browser.py": "reader-visits",
                     "test_webfont_browser.py": "reader-visits"}


def _shared_setup(item) -> str | None:
    if item.path.name in SHARED_BY_MODULES:
        return SHARED_BY_MODULES[item.path.name]
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # nbval's cells: one kernel runs a notebook's cells in order
        return f"module:{item.path}"
    scopes = {definition.scope for definitions in info.name2fixturedefs.values()
              for definition in definitions}
    return f"module:{item.path}" if scopes & {"module", "class", "package"} else None


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
def reader_visits(browser, real_book_repo) -> dict[str, dict]:
    """Every page of the real book opened once, in light mode, and what the browser modules
    that read it check (tests/page_visits.py). Those modules share it on one xdist worker
    (SHARED_BY_MODULES)."""
    from browsing import serve
    from page_visits import visit_every_page

    html_dir = (real_book_repo / "_build" / "html").resolve()
    with serve(html_dir) as origin:
        return visit_every_page(browser, origin, html_dir)


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
