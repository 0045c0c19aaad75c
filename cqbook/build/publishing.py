"""Building the HTML book from executed notebooks, and publishing it atomically.

`_build/html` is a symbolic link to one finished build under `_build/books/`. A new book is
built beside the old one and the link is swapped in one `rename`, so a reader (or a build
killed at any moment) only ever sees the last good book or the new one, never half of either.

What was published is recorded by content in `_build/published.json` (the size and digest of
every file, and the folder the link points to), so a book changed after publishing — by
`jupyter-book build` or `sphinx-build` writing through the link, by hand, or by the link
being replaced or pointed elsewhere — is found and replaced, never trusted on its key alone.
Nothing the pipeline did not make is deleted: a user's own folder at `_build/html`, or a
published book someone changed, is moved to `_build/html-kept-<time>/`, and the build says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cqbook.build.cache import shown, write_json_atomic
from cqbook.build.stage_guard import STAGE_MARKER
from cqbook.paths import BOOK_DIR, BUILD_DIR, DATA_DIR, REPO_ROOT

HTML_LINK = BUILD_DIR / "html"
BOOKS_DIR = BUILD_DIR / "books"
STAGE_DIR = BUILD_DIR / "stage"
PUBLISHED_STATE = BUILD_DIR / "published.json"
KEPT_PREFIX = "html-kept-"
BOOK_CONFIG_FILES = ("_config.yml", "_toc.yml")
# Stages and books are named by stage_sources; anything else in their folders is not ours.
STAGE_NAME = re.compile(r"[0-9a-f]{12}")
# A stage that never got its marker (a build killed between mkdir and marker) is removed once
# it is this old; a stage with its marker is removed as soon as no build holds it.
UNMARKED_STAGE_SECONDS = 3600

Note = Callable[[str], None]


class BookBuildFailure(RuntimeError):
    """Sphinx refused the book; the message carries its warnings and errors."""


def book_source_files() -> list[Path]:
    """The hand-written inputs of the book (besides the executed notebooks)."""
    from cqbook.build.editions import source_files

    prose = [p for p in BOOK_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return [REPO_ROOT / name for name in BOOK_CONFIG_FILES] + prose + source_files()


def stage_sources(executed_notebooks: dict[str, Path], state=None,
                  data_dir: Path = DATA_DIR) -> Path:
    """Lay out a book source tree: config, prose and the *executed* notebooks.

    With the build's `state` (a `cqbook.build.pages.BookState`), also: a provenance box after each
    chapter's title (in the staged copy only: the executed notebook stays as it ran), the
    generated pages at `book/<name>.md` (sources, glossary, data, build information), the
    data package under `data/` for the data page's downloads, and the book's style sheet.
    """
    stage = new_stage()
    (stage / "notebooks").mkdir()
    for name in BOOK_CONFIG_FILES:
        shutil.copy2(REPO_ROOT / name, stage / name)
    shutil.copytree(BOOK_DIR, stage / "book")
    for name, path in executed_notebooks.items():
        target = stage / "notebooks" / f"{name}.ipynb"
        if state is None or name not in state.notebooks:
            shutil.copy2(path, target)
            continue
        from cqbook.build import pages

        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        box = pages.provenance_box(state.notebooks[name], state)
        target.write_text(json.dumps(pages.add_provenance(notebook, box), ensure_ascii=False,
                                     indent=1) + "\n", encoding="utf-8")
    if state is not None:
        _stage_generated(stage, state, Path(data_dir))
    return stage


# Each stage is flock-ed by the process that made it until its book is published or given
# up: remove_leftovers deletes only stages no live process holds, so two builds (or a build
# and a script staging a book) never delete each other's stage.
_held_stages: dict[Path, int] = {}


def new_stage() -> Path:
    """An empty stage, held by this process, with the marker cqbook.build.stage_guard looks for."""
    STAGE_DIR.mkdir(parents=True, exist_ok=True)
    stage = STAGE_DIR / uuid.uuid4().hex[:12]
    stage.mkdir()
    handle = os.open(stage, os.O_RDONLY)
    fcntl.flock(handle, fcntl.LOCK_EX)
    _held_stages[stage] = handle
    # Written after the lock is taken: a stage with a marker is always one a process held.
    (stage / STAGE_MARKER).write_text("a book stage laid out by cqbook.build.publishing\n",
                                      encoding="utf-8")
    return stage


def release_stage(stage: Path) -> None:
    handle = _held_stages.pop(stage, None)
    if handle is not None:
        os.close(handle)


def _held_by_a_process(folder: Path) -> bool:
    if folder in _held_stages:
        return True
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)  # releases the probe's own lock
    return False


# The pages made from the data alone, as last made (see cqbook.build.pages.data_pages).
PAGES_CACHE = BUILD_DIR / "cache" / "pages"


def _stage_generated(stage: Path, state, data_dir: Path) -> None:
    from cqbook.build import pages

    for name, text in pages.generated_pages(state, data_dir, cache_dir=PAGES_CACHE).items():
        target = stage / "book" / f"{name}.md"
        if target.exists():
            raise BookBuildFailure(f"book/{name}.md is generated at build time: remove the "
                                   "committed file of that name")
        target.write_text(text, encoding="utf-8")
    package = json.loads((data_dir / "datapackage.json").read_text(encoding="utf-8"))
    for relative in ["datapackage.json"] + [r["path"] for r in package["resources"]]:
        (stage / "data" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(data_dir / relative, stage / "data" / relative)
    (stage / "_static").mkdir(exist_ok=True)
    (stage / "_static" / pages.STYLESHEET_NAME).write_text(pages.STYLESHEET, encoding="utf-8")


# Sphinx's workspace per edition (by the stage's `language`): the sources as last built, the
# environment and doctrees, and the HTML. Kept between builds, so that Sphinx reads and
# writes again only what changed; never published itself (SphinxRun.wait returns a copy).
SPHINX_DIR = BUILD_DIR / "sphinx"
# Written after a build Sphinx finished cleanly, with what the workspace was built by; a
# workspace without it (a failed or killed build, other code) is built from scratch.
WORKSPACE_RECORD = "built.json"


class SphinxRun:
    """One edition's Sphinx build, started at once (in a fork of the waiting Sphinx if there is
    one, else in a process of its own); `wait()` returns the copy of its HTML (or raises
    BookBuildFailure), `stop()` ends it unfinished. The editions build side by side: each is
    one process on one core.

    Only files whose bytes changed are written into the workspace, so Sphinx, which judges by
    modification time, reads again only those pages (and, through
    cqbook.build.sphinx_incremental, the pages that paste from them). A workspace left by a
    failed build, by other code or another Sphinx, or one Sphinx crashes on, is built from
    scratch."""

    def __init__(self, stage: Path, note: Note | None = None) -> None:
        self.stage, self.note = stage, note
        workspace = SPHINX_DIR / _edition(stage)
        self.source, self.built = workspace / "src", workspace / "out"
        self.fingerprint = _workspace_fingerprint()
        self.record = workspace / WORKSPACE_RECORD
        self.reusable = _read_json(self.record) == self.fingerprint
        self.record.unlink(missing_ok=True)  # until this build succeeds
        _sync_tree(stage, self.source)
        if not self.reusable:
            shutil.rmtree(self.built, ignore_errors=True)
        # Sphinx's output goes to a file, not a pipe: a pipe nobody reads while the other
        # edition is waited for would stall this one.
        self.log_path = workspace / "sphinx.log"
        self.process = self._start(fresh=not self.reusable)

    def _start(self, fresh: bool) -> subprocess.Popen:
        self.built.mkdir(parents=True, exist_ok=True)
        arguments = [str(self.source), str(self.built / "html"), str(self.built / "doctrees"),
                     str(SPHINX_JOBS)] + (["fresh"] if fresh else [])
        waiting = _take_waiting_sphinx(arguments, self.log_path)
        if waiting is not None:
            return waiting
        with open(self.log_path, "wb") as log:
            return subprocess.Popen(_SPHINX_COMMAND + arguments, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=_sphinx_environment())

    def _finished(self) -> tuple[int, str]:
        code = self.process.wait()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return code, re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # colours

    def wait(self) -> Path:
        from cqbook.build.sphinx_incremental import CRASHED

        code, log = self._finished()
        if code == CRASHED and self.reusable:
            if self.note:
                self.note("note: Sphinx failed on the environment kept from the last build: "
                          "building the book from scratch")
            shutil.rmtree(self.built, ignore_errors=True)
            self.reusable = False
            self.process = self._start(fresh=True)
            code, log = self._finished()
        if code != 0:
            raise BookBuildFailure(_summarise_sphinx_output(log))
        write_json_atomic(self.record, self.fingerprint)
        if self.note:
            self.note(pages_read(log, from_scratch=not self.reusable
                                 or "loading pickled environment... failed" in log))
        output = self.stage / "output" / "_build" / "html"
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.built / "html", output, symlinks=True)
        return output

    def stop(self) -> None:
        """End Sphinx if it still runs (another edition failed, or the build was interrupted):
        its workspace keeps no record, so the next build reads it from scratch."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


_SPHINX_COMMAND = [sys.executable, "-m", "cqbook.build.sphinx_incremental"]


def _sphinx_environment() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}


# One Sphinx process started before any stage exists (sphinx_incremental's `waiting`): it
# imports Sphinx, the extensions and the theme and loads jieba's dictionary (about 4 s) while
# the notebooks run, and builds each edition a SphinxRun hands it in a fork of itself, so the
# editions share that start-up. Only `waiting_sphinx()` starts it, and it ends it and its
# builds (one process group), however the build ends.
_waiting: list[WaitingSphinx] = []


@contextlib.contextmanager
def waiting_sphinx():
    """Within it, `start_waiting_sphinx()` readies Sphinx for the SphinxRuns to come."""
    try:
        yield
    finally:
        while _waiting:
            _waiting.pop().end()


def start_waiting_sphinx() -> None:
    """Once per build; the pipeline asks only where the kernels fork (it forks too)."""
    if not _waiting:
        _waiting.append(WaitingSphinx())


class WaitingSphinx:
    """The waiting process, and what it reported of the builds it was given."""

    def __init__(self) -> None:
        from cqbook.build.sphinx_incremental import WAITING

        self.process = subprocess.Popen(
            [*_SPHINX_COMMAND, WAITING, str(os.getpid())], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_sphinx_environment(),
            process_group=0)
        self.orders = 0
        self.pids: dict[int, int] = {}  # order -> pid
        self.codes: dict[int, int] = {}  # order -> exit code
        self.closed = False  # its reports have ended (it exited, or was killed)
        self._pending = b""

    def build(self, arguments: list[str], log: Path) -> ForkedBuild | None:
        if self.process.poll() is not None:
            return None
        try:
            self.process.stdin.write((json.dumps([arguments, str(log)]) + "\n").encode())
            self.process.stdin.flush()
        except OSError:
            return None
        self.orders += 1
        return ForkedBuild(self, self.orders)

    def read_reports(self, block: bool) -> None:
        """Record what the process reported (waiting for one report if `block`)."""
        fd = self.process.stdout.fileno()
        while not self.closed and select.select([fd], [], [], None if block else 0)[0]:
            chunk = os.read(fd, 65536)
            self.closed = not chunk
            self._pending += chunk
            while b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                kind, order, value = line.decode().split()
                (self.pids if kind == "started" else self.codes)[int(order)] = int(value)
            if chunk:
                block = False  # one report was waited for; take only what else is there

    def end(self) -> None:
        """Kill it and every build it runs (its process group), and reap it."""
        self.closed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()


class ForkedBuild:
    """One edition built in a fork of the waiting Sphinx: `wait`, `poll` and `kill`, as
    SphinxRun uses a process's."""

    def __init__(self, server: WaitingSphinx, order: int) -> None:
        self.server, self.order = server, order

    def poll(self) -> int | None:
        self.server.read_reports(block=False)
        return self._code()

    def wait(self) -> int:
        while self._code() is None:
            self.server.read_reports(block=True)
        return self._code()

    def _code(self) -> int | None:
        if self.order in self.server.codes:
            return self.server.codes[self.order]
        if self.server.closed:  # the waiting process is gone, and this build with it
            self.server.end()
            from cqbook.build.sphinx_incremental import CRASHED

            return CRASHED
        return None

    def kill(self) -> None:
        """Only a build that is being given up is killed, and with it the build it belongs
        to: every edition's Sphinx goes, as the waiting process's group."""
        self.server.end()


def _take_waiting_sphinx(arguments: list[str], log: Path) -> ForkedBuild | None:
    """This build given to the waiting Sphinx (its output going to `log`), or None."""
    if not _waiting:
        return None
    log.write_bytes(b"")  # the last build's output is never read as this one's
    return _waiting[0].build(arguments, log)


def _edition(stage: Path) -> str:
    import yaml

    try:
        config = yaml.safe_load((stage / "_config.yml").read_text(encoding="utf-8")) or {}
        language = str(config.get("sphinx", {}).get("config", {}).get("language", "en"))
    except (OSError, ValueError, AttributeError):
        language = "en"
    return re.sub(r"[^A-Za-z0-9_]", "_", language) or "en"


def _workspace_fingerprint() -> dict[str, str]:
    """What Sphinx does not see change by itself: the extensions' code (ours, in the package;
    the others', in the lock) and the Python running them."""
    from cqbook.build.cache import PACKAGE_DIR, file_digest, files_under, tree_digest

    lock = REPO_ROOT / "requirements.lock"
    return {"package": tree_digest(files_under(PACKAGE_DIR, "*.py")),
            "lock": file_digest(lock) if lock.exists() else "none",
            "python": sys.version}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# Parallel reading and writing (-j) does not pay on a book of a dozen pages: measured in
# benchmarks/ (forking workers and merging their environments costs more than it saves).
SPHINX_JOBS = 1


def _sync_tree(stage: Path, target: Path) -> list[str]:
    """Make `target` hold exactly the files of `stage`, writing only those whose bytes
    differ (an unchanged file keeps its modification time); return the paths changed."""
    changed, wanted = [], set()
    for directory, folders, files in os.walk(stage):
        relative_dir = Path(directory).relative_to(stage)
        if relative_dir == Path("."):
            folders[:] = [f for f in folders if f != "output"]
        for name in files:
            relative = relative_dir / name
            wanted.add(relative)
            content = (Path(directory) / name).read_bytes()
            destination = target / relative
            try:
                if destination.read_bytes() == content:
                    continue
            except OSError:
                pass
            destination.parent.mkdir(parents=True, exist_ok=True)
            tmp = destination.with_name(f".{name}.{os.getpid()}.tmp")
            tmp.write_bytes(content)
            os.replace(tmp, destination)
            changed.append(relative.as_posix())
    for directory, _folders, files in os.walk(target, topdown=False):
        for name in files:
            path = Path(directory) / name
            if path.relative_to(target) not in wanted:
                path.unlink()
                changed.append(path.relative_to(target).as_posix())
        if Path(directory) != target and not os.listdir(directory):
            os.rmdir(directory)
    return changed


_READ_LINE = re.compile(r"reading sources\.\.\. \[\s*\d+%\] (.+?)\s*$", re.MULTILINE)
_COUNTS = re.compile(r"(\d+) added, (\d+) changed, (\d+) removed")


def pages_read(sphinx_log: str, from_scratch: bool) -> str:
    """`sphinx: read 2 pages (incremental; 0 added, 2 changed, 0 removed): book/index,
    notebooks/alpha`, from Sphinx's own output."""
    read = _READ_LINE.findall(sphinx_log.replace("\r", "\n"))
    counts = _COUNTS.search(sphinx_log)
    shown = ", ".join(sorted(read)) if len(read) <= 12 else f"{len(read)} pages"
    return (f"sphinx: read {len(read)} page{'s' if len(read) != 1 else ''} "
            f"({'from scratch' if from_scratch else 'incremental'}"
            f"{'; ' + counts.group(0) if counts else ''}){': ' + shown if read else ''}")


def _summarise_sphinx_output(log: str) -> str:
    problems = [line for line in log.splitlines()
                if re.search(r"WARNING|ERROR|Error|Exception|Traceback", line)]
    return "\n".join(problems[-30:] or log.splitlines()[-30:])


# ------------------------------------------------------------------ what is published


def manifest(folder: Path) -> dict[str, list]:
    """Size and SHA-256 of every file under `folder` (a link inside it: its target), by
    path relative to `folder`. About 60 ms for the real book's 200 files."""
    found: dict[str, list] = {}
    for directory, subfolders, files in os.walk(folder):
        for name in subfolders + files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            if os.path.islink(path):
                found[relative] = ["link", os.readlink(path)]
            elif name in files:
                with open(path, "rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
                found[relative] = [os.path.getsize(path), digest]
    return found


def manifest_difference(recorded: dict[str, list], now: dict[str, list]) -> str:
    """`2 files changed (index.html, search.html); 1 file added (notes.txt)`, or ''."""
    groups = (("changed", [p for p in sorted(recorded) if p in now and now[p] != recorded[p]]),
              ("removed", [p for p in sorted(recorded) if p not in now]),
              ("added", sorted(set(now) - set(recorded))))
    return "; ".join(
        f"{len(paths)} file{'s' if len(paths) > 1 else ''} {label} "
        f"({', '.join(paths[:3])}{', ...' if len(paths) > 3 else ''})"
        for label, paths in groups if paths)


@dataclass(frozen=True)
class Published:
    """What `_build/html` is at one moment: its kind, where it points, what it shows."""

    kind: str  # "link", "dangling" (a link to nothing), "folder", "file" or "missing"
    target: str | None = None  # the link as written (relative to _build/ when ours)
    files: dict[str, list] | None = None  # manifest of what a reader sees


def look() -> Published:
    if HTML_LINK.is_symlink():
        target = os.readlink(HTML_LINK)
        if not HTML_LINK.is_dir():
            return Published("dangling", target)
        return Published("link", target, manifest(HTML_LINK.resolve()))
    if HTML_LINK.is_dir():
        return Published("folder", None, manifest(HTML_LINK))
    return Published("file" if HTML_LINK.exists() else "missing")


def read_state(note: Note) -> dict | None:
    """The record of the published book, or None (with a note when there is one, unreadable:
    the book is then rebuilt and the record rewritten)."""
    try:
        state = json.loads(PUBLISHED_STATE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        note(f"note: {shown(PUBLISHED_STATE)} is unreadable ({type(error).__name__}): the "
             "book is rebuilt")
        return None
    if not (isinstance(state, dict) and isinstance(state.get("book_key"), str)
            and isinstance(state.get("folder"), str) and isinstance(state.get("manifest"), dict)
            and re.fullmatch(rf"books/{STAGE_NAME.pattern}", state["folder"])):
        note(f"note: {shown(PUBLISHED_STATE)} is not a record this version writes: the book is "
             "rebuilt")
        return None
    return state


def problem(state: dict, now: Published) -> str | None:
    """Why `_build/html` is not exactly the book `state` records, or None when it is."""
    recorded = f"_build/{state['folder']}"
    if now.kind == "missing":
        return "_build/html is missing"
    if now.kind == "file":
        return "_build/html is a file, not the link to the published book"
    if now.kind == "folder":
        return "_build/html is a folder of its own, not the link to the published book"
    if now.target != state["folder"]:
        return (f"_build/html points to {_link_shown(now.target)}, not to the published book "
                f"{recorded}")
    if now.kind == "dangling":
        return f"the published book {recorded} is gone"
    difference = manifest_difference(state["manifest"], now.files or {})
    return f"the published book was changed after publishing: {difference}" if difference else None


def recorded_book_intact(state: dict) -> bool:
    folder = BUILD_DIR / state["folder"]
    return folder.is_dir() and manifest(folder) == state["manifest"]


def describe_change(before: Published, after: Published) -> str:
    """What happened to the published book during a build that did not publish: only what
    is true, checked, never assumed."""
    if after == before:
        return ("no book is published yet" if before.kind == "missing"
                else "the published book is unchanged")
    lead = "the published book changed during this build, not by publishing"
    if (after.kind, after.target) != (before.kind, before.target):
        return f"{lead}: _build/html is now {_described(after)} (was {_described(before)})"
    return f"{lead}: {manifest_difference(before.files or {}, after.files or {})}"


def _described(published: Published) -> str:
    return {"link": f"a link to {_link_shown(published.target)}",
            "dangling": f"a link to {_link_shown(published.target)}, which is gone",
            "folder": "a folder", "file": "a file", "missing": "gone"}[published.kind]


def _link_shown(target: str | None) -> str:
    return str(target) if target is None or os.path.isabs(target) else f"_build/{target}"


# ------------------------------------------------------------------ publishing


def publish(html: Path, stage: Path, book_key: str, note: Note) -> Path:
    """Make `html`, built from `stage`, the published book; return its final folder.

    The record is written before the link is swapped: a build killed between the two leaves
    a record of the new book and a link to the old one, which the next build sees and fixes
    by pointing the link at the (intact) new book."""
    BOOKS_DIR.mkdir(parents=True, exist_ok=True)
    final = BOOKS_DIR / stage.name
    os.replace(html, final)
    write_json_atomic(PUBLISHED_STATE, {"book_key": book_key,
                                        "folder": final.relative_to(BUILD_DIR).as_posix(),
                                        "manifest": manifest(final)})
    point_link_at(final, note)
    release_stage(stage)
    return final


def point_link_at(book: Path, note: Note) -> None:
    """Swap `_build/html` to `book` in one rename; a folder or file of the user's that sits
    there is moved aside first, never deleted."""
    if HTML_LINK.exists() and not HTML_LINK.is_symlink():
        kind = "folder" if HTML_LINK.is_dir() else "file"
        kept = set_aside(HTML_LINK)
        note(f"note: _build/html was a {kind} of its own, not the link to the book: moved to "
             f"{shown(kept)}, nothing in it deleted")
    link_tmp = BUILD_DIR / f".html.{os.getpid()}.tmp"
    if link_tmp.is_symlink():
        link_tmp.unlink()
    os.symlink(book.relative_to(BUILD_DIR), link_tmp)
    os.replace(link_tmp, HTML_LINK)


def set_aside(path: Path) -> Path:
    """Move `path` to a new `_build/html-kept-<time>[-n]`; return where."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        target = BUILD_DIR / f"{KEPT_PREFIX}{stamp}{'' if attempt == 1 else f'-{attempt}'}"
        if not os.path.lexists(target):
            os.rename(path, target)
            return target
    raise OSError(f"no free name for {path} under {BUILD_DIR}")


def published_book() -> Path | None:
    return HTML_LINK.resolve() if HTML_LINK.exists() else None


def remove_leftovers(previous: dict | None, note: Note) -> None:
    """Delete what failed or killed builds left: stages no process holds, and books that
    neither `_build/html` nor the record points to. A book that was published before
    (`previous`) and was changed since is moved aside instead: someone wrote into it."""
    protected = {p.resolve() for p in (HTML_LINK, _recorded_folder()) if p is not None
                 and p.exists()}
    for stage in _ours(STAGE_DIR):
        marked = (stage / STAGE_MARKER).exists()
        old = time.time() - stage.stat().st_mtime > UNMARKED_STAGE_SECONDS
        if (marked or old) and not _held_by_a_process(stage):
            shutil.rmtree(stage, ignore_errors=True)
    for book in _ours(BOOKS_DIR):
        if book.resolve() in protected or _held_by_a_process(STAGE_DIR / book.name):
            continue
        if previous and Path(previous["folder"]).name == book.name \
                and manifest(book) != previous["manifest"]:
            kept = set_aside(book)
            note(f"note: the book published before was changed after publishing "
                 f"({manifest_difference(previous['manifest'], manifest(kept))}): kept at "
                 f"{shown(kept)}")
            continue
        shutil.rmtree(book, ignore_errors=True)


def _ours(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir()
            if STAGE_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]


def _recorded_folder() -> Path | None:
    try:
        return BUILD_DIR / json.loads(PUBLISHED_STATE.read_text(encoding="utf-8"))["folder"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
