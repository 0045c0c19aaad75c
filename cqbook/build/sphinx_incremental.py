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

Run as ``python -m cqbook.build.sphinx_incremental waiting PID`` (PID: the build's), it first imports Sphinx, the
book's extensions and theme and loads jieba's dictionary for the search (about 5 s), then
waits for one line on stdin, ``[[SOURCE, OUTPUT, DOCTREES, JOBS, ...], LOG]``, and builds as
above with its output in LOG. The pipeline starts it while the notebooks run; it exits at
once on end of input or when the build that started it is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
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


def setup(app):
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
    """Import what a build of the book imports before it reads a page, and load jieba."""
    import importlib

    import yaml
    from jupyter_book.sphinx import build_sphinx  # noqa: F401  (Sphinx and docutils)

    from cqbook.analysis import segmentation
    from cqbook.paths import REPO_ROOT

    sphinx = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]
    for name in [*sphinx.get("local_extensions", {}), *sphinx["config"]["extensions"],
                 *IMPORTED_LATE]:
        importlib.import_module(name)
    segmentation.load_jieba_dictionary()


def _order(parent: int) -> list | None:
    """The one line the pipeline sends, or None: end of input, or the parent gone (killed:
    its end of the pipe may be held open by a kernel it forked)."""
    while os.getppid() == parent:
        if select.select([sys.stdin], [], [], 1.0)[0]:
            line = sys.stdin.readline()
            return json.loads(line) if line.strip() else None
    return None


PRELOAD_NICENESS = 10
PRELOADED_LINE = "started while the notebooks ran: imports and jieba's dictionary loaded in"


def wait_then_build(parent: int) -> int:
    """`parent` is the build's pid as the build gave it: read here, the parent could already
    be a process that adopted this one."""
    started = time.perf_counter()
    # The notebooks come first: on 2 cores, the build's own process and a kernel would
    # otherwise share them with both editions' start-up, and the book waits for the kernel.
    os.nice(PRELOAD_NICENESS)
    # A failing import fails the build again, once its log is the build's to show.
    with contextlib.suppress(Exception):
        preload()
    loaded = time.perf_counter() - started
    order = _order(parent)
    if order is None:
        return 0
    with contextlib.suppress(OSError):  # back to the build's priority where that is allowed
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, parent))
    arguments, log = order
    sys.stdout.flush()
    sys.stderr.flush()
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(output, 1)
    os.dup2(output, 2)
    print(f"{PRELOADED_LINE} {loaded:.1f} s", flush=True)
    return main(arguments)


if __name__ == "__main__":
    if sys.argv[1:2] == [WAITING]:
        sys.exit(wait_then_build(int(sys.argv[2])))
    sys.exit(main(sys.argv[1:]))
