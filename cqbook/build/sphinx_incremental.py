"""Incremental Sphinx: the runner the pipeline starts, and the extension it adds to the book.

Sphinx keeps its environment and doctrees between builds, so it reads and writes again only
the pages whose sources changed. Two things it does not know by itself, and this extension
tells it:

- A page that pastes a value from another notebook (``{glue:text}`/notebooks/x.ipynb::key```,
  the summary) shows that notebook's outputs, read by myst-nb at write time from the glue
  cache of the notebook's *own* reading. Each such page notes the notebook as a dependency,
  so Sphinx re-reads (and writes) it whenever the notebook changes.
- Every page's navigation shows every chapter's title: when a page it re-read has a new
  title, every page is written again.

And it leaves no trace of being incremental: no emptied search entries, no images or
downloads that no page uses any more, the same style-sheet links as a clean build.

Run as ``python -m cqbook.build.sphinx_incremental SOURCE OUTPUT DOCTREES JOBS [fresh]``:
jupyter-book's own build function (the configuration exactly as `jupyter-book build` makes
it: `-W -n --keep-going`), with this extension added. Exit 0: built; 1: Sphinx refused
the book (warnings, errors); 3: Sphinx itself crashed (a damaged environment, say).

Run as ``python -m cqbook.build.sphinx_incremental waiting PID`` (PID: the build's), it first
imports Sphinx, the book's extensions and theme and loads jieba's dictionary for the search
(about 4 s), then builds each edition it is sent in a fork of itself (`serve`). The pipeline
starts it while the notebooks run.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import shutil
import signal
import sys
import time
from pathlib import Path

CRASHED = 3


def _note_pasted_notebooks(app, doctree) -> None:
    from myst_nb.ext.glue.utils import PendingGlueReference

    env = app.env
    for node in doctree.findall(PendingGlueReference):
        if node.refdoc != env.docname and node.refdoc in env.found_docs:
            env.note_dependency(os.path.relpath(env.doc2path(node.refdoc), env.srcdir))


def _remember_titles(app, env, docnames) -> None:
    app._cqbook_titles_before = {name: env.titles[name].astext() for name in docnames
                                 if name in env.titles}


def _all_pages_if_a_title_changed(app, env) -> list[str]:
    before = getattr(app, "_cqbook_titles_before", {})
    changed = [name for name, title in before.items()
               if name in env.titles and env.titles[name].astext() != title]
    return sorted(env.found_docs) if changed else []


def _copy_mystnb_css_before_writing(app) -> None:
    """myst-nb copies its style sheet when the build has finished; pages written while it is
    in _static/ link it with a `?v=` checksum. Copied first, a clean build's pages link it as
    an incremental build's do."""
    from myst_nb.sphinx_ext import add_global_html_resources

    if app.builder.format == "html":
        Path(app.outdir, "_static").mkdir(parents=True, exist_ok=True)
        add_global_html_resources(app, None)


def _drop_emptied_search_terms(app, *_arguments) -> list:
    """An incremental build loads the last search index and prunes the pages read again,
    leaving words no page holds any more as empty entries: dropped, as a clean build has none."""
    indexer = getattr(app.builder, "indexer", None)
    for mapping in (getattr(indexer, "_mapping", {}), getattr(indexer, "_title_mapping", {})):
        for word in [word for word, pages in mapping.items() if not pages]:
            del mapping[word]
    return []


def _remove_outputs_no_page_uses(app, exception) -> None:
    """Sphinx never deletes an image or download a page no longer uses (a chart whose
    content, and so its file name, changed): removed, as a clean build never writes them."""
    if exception is not None or app.builder.format != "html":
        return
    images = {name for _pages, name in app.env.images.values()}
    downloads = {Path(target).parts[0] for _pages, target in app.env.dlfiles.values()}
    for folder, kept in ((Path(app.outdir, "_images"), images),
                         (Path(app.outdir, "_downloads"), downloads)):
        for path in folder.iterdir() if folder.is_dir() else []:
            if path.name not in kept:
                shutil.rmtree(path) if path.is_dir() else path.unlink()


# Under the doctrees, so that it lives and goes with the environment.
TEMPLATE_CACHE = "compiled-templates"


def _keep_compiled_templates(app) -> None:
    """Jinja compiles the theme's templates again in every build (about 0.3 s an edition):
    its own bytecode cache keeps them, keyed by each template's name, file and source, so an
    edited template is compiled afresh."""
    environment = getattr(getattr(app.builder, "templates", None), "environment", None)
    if environment is not None and environment.bytecode_cache is None:
        from jinja2 import FileSystemBytecodeCache

        folder = Path(app.doctreedir, TEMPLATE_CACHE)
        folder.mkdir(parents=True, exist_ok=True)
        environment.bytecode_cache = FileSystemBytecodeCache(str(folder))


def setup(app):
    app.connect("builder-inited", _keep_compiled_templates)
    app.connect("doctree-read", _note_pasted_notebooks)
    app.connect("env-before-read-docs", _remember_titles)
    app.connect("env-get-updated", _all_pages_if_a_title_changed)
    app.connect("builder-inited", _copy_mystnb_css_before_writing)
    app.connect("html-collect-pages", _drop_emptied_search_terms)
    app.connect("build-finished", _remove_outputs_no_page_uses)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _allow_a_moved_workspace() -> None:
    """Keep the environment of a workspace whose checkout was copied or moved (the test
    suite copies a built checkout per test). Sphinx refuses an environment pickled under
    another source path, though it keeps every document's path relative to it and sets the
    new one itself; pages whose files kept their times stay unchanged."""
    from sphinx.environment import BuildEnvironment

    original = BuildEnvironment.setup

    def setup(env, app):
        if env.srcdir and Path(env.srcdir).name == Path(app.srcdir).name:
            env.srcdir = app.srcdir
        original(env, app)

    BuildEnvironment.setup = setup


def main(arguments: list[str]) -> int:
    source, output, doctrees = (Path(a) for a in arguments[:3])
    jobs, fresh = int(arguments[3]), arguments[4:] == ["fresh"]
    from jupyter_book.config import get_final_config
    from jupyter_book.sphinx import build_sphinx

    _allow_a_moved_workspace()
    # What `jupyter-book build SOURCE -W -n --keep-going` passes, plus this extension; the
    # contents' path relative (Sphinx compares it with the environment's as a setting).
    overrides = {"external_toc_path": "_toc.yml",
                 "latex_individualpages": False, "nitpicky": True}
    config, _ = get_final_config(user_yaml=source / "_config.yml", cli_config=dict(overrides),
                                 sourcedir=source, use_external_toc=True)  # it pops a key
    overrides["extensions"] = [*config["extensions"], "cqbook.build.sphinx_incremental"]
    result = build_sphinx(source, output, use_external_toc=True, noconfig=True,
                          path_config=str(source / "_config.yml"), confoverrides=overrides,
                          doctreedir=doctrees, builder="html", warningiserror=True,
                          keep_going=True, freshenv=fresh, jobs=jobs)
    if isinstance(result, BaseException):
        return CRASHED
    return 0 if result == 0 else 1


WAITING = "waiting"


# Imported by a build only once it runs (an extension's setup importing its body, the HTML
# builder, the theme's parent): found by `python -X importtime` on a preloaded run.
IMPORTED_LATE = ("myst_nb.sphinx_ext", "myst_nb.ext.glue.domain", "sphinx.builders.html",
                 "sphinx.search.zh", "pydata_sphinx_theme", "sphinx_design.extension",
                 "sphinx_external_toc.events", "sphinx_jupyterbook_latex.events",
                 "importlib_metadata", "IPython.lib.lexers", "sphinx.domains.c",
                 "sphinx.domains.cpp", "sphinx.domains.python", "sphinx.writers.latex",
                 "sphinx.builders.latex.util", "sphinx.ext.doctest", "sphinx.util.template",
                 "jinja2.ext")


def preload() -> None:
    """Import what a build of the book imports before it reads a page, and load jieba's
    dictionary (the book's words, where they are kept)."""
    import importlib

    import yaml
    from jupyter_book.sphinx import build_sphinx  # noqa: F401  (Sphinx and docutils)
    from sphinx.application import builtin_extensions  # what every Sphinx() sets up first

    from cqbook.analysis import jieba_dictionary
    from cqbook.paths import REPO_ROOT

    sphinx = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]
    for name in [*builtin_extensions, *sphinx.get("local_extensions", {}),
                 *sphinx["config"]["extensions"], *IMPORTED_LATE]:
        importlib.import_module(name)
    _compile_theme_selectors()
    _find_notebook_renderers()
    jieba_dictionary.tokenizer_class()
    jieba_dictionary.starting_dictionary()


def _find_notebook_renderers() -> None:
    """myst-nb finds its renderers by a scan of every installed package's metadata (about
    0.07 s) when it reads its first notebook; its caches, filled here, are each fork's."""
    from myst_nb.core.render import load_mime_renders, load_renderer

    load_renderer("default")
    load_mime_renders()


# The CSS selectors pydata-sphinx-theme 0.17 (pinned) matches on every page's navigation.
# soupsieve compiles its own parser's patterns on first use, about 0.3 s each edition would
# otherwise spend after its notebooks ran.
THEME_SELECTORS = ("li", "li.toctree-l1 > details", ".toc-h1", ".toc-h2",
                   "details > a.reference", "details > p.caption")


def _compile_theme_selectors() -> None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup("<ul><li class='toctree-l1'><details><a class='reference'></a>"
                         "</details></li></ul>", "html.parser")
    for selector in THEME_SELECTORS:
        soup.select(selector)


def start_up() -> None:
    """The waiting process's start-up: `preload`, then what it loaded frozen (`gc.freeze`).
    It stays for every fork's life, so it is kept out of the forks' collections, which would
    otherwise walk it and so copy it page by page, and out of `gc.get_objects()`, which
    sphinx-external-toc's set-up scans in every build to find Sphinx's toctree collector."""
    # A failing import fails the build again, once its log is the build's to show.
    with contextlib.suppress(Exception):
        preload()
    gc.freeze()


PRELOAD_NICENESS = 10
PRELOADED_LINE = "started up beside the build: imports and jieba's dictionary loaded in"


def serve(parent: int) -> int:
    """The waiting process. Each order, a line `[ARGUMENTS, LOG]` on stdin, is built in a fork
    of this process, so that every edition shares one start-up; on stdout, `started N PID`
    and `ended N CODE` for the N-th order. It ends when its input has ended and each of its
    builds has, or when the build that started it is gone (`parent`, its pid as the build
    gave it: read here, the parent could already be a process that adopted this one). Its
    builds are in its process group, which the pipeline kills whole to stop them all."""
    started = time.perf_counter()
    # The notebooks come first: on 2 cores, the build's own process and a kernel would
    # otherwise share them with the editions' start-up, and the book waits for the kernel.
    os.nice(PRELOAD_NICENESS)
    start_up()
    loaded = time.perf_counter() - started
    builds: dict[int, int] = {}  # pid -> order number
    pending, reading, number = b"", True, 0
    while reading or builds:
        if os.getppid() != parent:  # killed: its end of the pipe may live on in a kernel
            os.killpg(0, signal.SIGKILL)
        if reading and select.select([0], [], [], 0.05)[0]:
            chunk = os.read(0, 65536)
            reading = bool(chunk)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                number += 1
                pid = os.fork()
                if pid == 0:
                    os._exit(_build_in_fork(line, loaded, parent))
                builds[pid] = number
                _report(f"started {number} {pid}")
        elif not reading:
            time.sleep(0.05)
        for pid in list(builds):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                _report(f"ended {builds.pop(pid)} {os.waitstatus_to_exitcode(status)}")
    return 0


def _report(line: str) -> None:
    with contextlib.suppress(OSError):  # the build stopped listening: it stops this one too
        os.write(1, f"{line}\n".encode())


def _say_dictionary() -> None:
    with contextlib.suppress(Exception):  # a failed preload is told by the build itself
        from cqbook.analysis import jieba_dictionary

        print(jieba_dictionary.described(), flush=True)


def _build_in_fork(order: bytes, loaded: float, parent: int) -> int:
    """One edition, in a fork of the waiting process: never back into its loop."""
    try:
        arguments, log = json.loads(order)
        with contextlib.suppress(OSError):  # the build's priority, where that is allowed
            os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, parent))
        output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(0)
        print(f"{PRELOADED_LINE} {loaded:.1f} s", flush=True)
        _say_dictionary()
        code = main(arguments)
    except BaseException:  # noqa: BLE001 - told in the log, as a crash of Sphinx
        import traceback

        traceback.print_exc()
        code = CRASHED
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    if sys.argv[1:2] == [WAITING]:
        sys.exit(serve(int(sys.argv[2])))
    sys.exit(main(sys.argv[1:]))
