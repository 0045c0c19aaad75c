"""Building the HTML book from executed notebooks, and publishing it atomically.

`_build/html` is a symbolic link to one finished build under `_build/books/`. A new book is
built beside the old one and the link is swapped in one `rename`, so a reader (or a build
killed at any moment) only ever sees the last good book or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from cqbook.paths import BOOK_DIR, BUILD_DIR, DATA_DIR, REPO_ROOT

HTML_LINK = BUILD_DIR / "html"
BOOKS_DIR = BUILD_DIR / "books"
STAGE_DIR = BUILD_DIR / "stage"
BOOK_CONFIG_FILES = ("_config.yml", "_toc.yml")


class BookBuildFailure(RuntimeError):
    """Sphinx refused the book; the message carries its warnings and errors."""


def book_source_files() -> list[Path]:
    """The hand-written inputs of the book (besides the executed notebooks)."""
    prose = [p for p in BOOK_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return [REPO_ROOT / name for name in BOOK_CONFIG_FILES] + prose


def stage_sources(executed_notebooks: dict[str, Path], state=None,
                  data_dir: Path = DATA_DIR) -> Path:
    """Lay out a book source tree: config, prose and the *executed* notebooks.

    With the build's `state` (a `cqbook.pages.BookState`), also: a provenance box after each
    chapter's title (in the staged copy only: the executed notebook stays as it ran), the
    generated pages at `book/<name>.md` (sources, glossary, data, build information), the
    data package under `data/` for the data page's downloads, and the book's style sheet.
    """
    stage = STAGE_DIR / uuid.uuid4().hex[:12]
    (stage / "notebooks").mkdir(parents=True)
    for name in BOOK_CONFIG_FILES:
        shutil.copy2(REPO_ROOT / name, stage / name)
    shutil.copytree(BOOK_DIR, stage / "book")
    for name, path in executed_notebooks.items():
        target = stage / "notebooks" / f"{name}.ipynb"
        if state is None or name not in state.notebooks:
            shutil.copy2(path, target)
            continue
        from cqbook import pages

        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        box = pages.provenance_box(state.notebooks[name], state)
        target.write_text(json.dumps(pages.add_provenance(notebook, box), ensure_ascii=False,
                                     indent=1) + "\n", encoding="utf-8")
    if state is not None:
        _stage_generated(stage, state, Path(data_dir))
    return stage


def _stage_generated(stage: Path, state, data_dir: Path) -> None:
    from cqbook import pages

    for name, text in pages.generated_pages(state, data_dir).items():
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


def _jupyter_book_command() -> list[str]:
    return [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]


def build_html(stage: Path) -> Path:
    """Run jupyter-book (execution off, warnings are errors); return the HTML folder."""
    output = stage / "output"
    command = _jupyter_book_command() + [
        "build", str(stage), "--path-output", str(output),
        "--warningiserror", "--nitpick", "--keep-going", "--all"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False,
                               env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    if completed.returncode != 0:
        raise BookBuildFailure(_summarise_sphinx_output(completed.stdout + completed.stderr))
    return output / "_build" / "html"


def _summarise_sphinx_output(log: str) -> str:
    problems = [line for line in log.splitlines()
                if re.search(r"WARNING|ERROR|Error|Exception|Traceback", line)]
    return "\n".join(problems[-30:] or log.splitlines()[-30:])


def publish(html: Path, stage: Path) -> Path:
    """Make `html`, built from `stage`, the published book; return its final folder."""
    BOOKS_DIR.mkdir(parents=True, exist_ok=True)
    final = BOOKS_DIR / stage.name
    os.replace(html, final)
    if HTML_LINK.exists() and not HTML_LINK.is_symlink():
        # A book built by hand with `jb build .`: keep it, out of the way.
        os.replace(HTML_LINK, BOOKS_DIR / f"manual-{uuid.uuid4().hex[:8]}")
    link_tmp = BUILD_DIR / f".html.{os.getpid()}.tmp"
    if link_tmp.is_symlink():
        link_tmp.unlink()
    os.symlink(final.relative_to(BUILD_DIR), link_tmp)
    os.replace(link_tmp, HTML_LINK)
    return final


def published_book() -> Path | None:
    return HTML_LINK.resolve() if HTML_LINK.exists() else None


def remove_leftovers() -> None:
    """Delete stages and old books that no published link points to (left by failures or
    by a build that was killed)."""
    current = published_book()
    for folder in list(STAGE_DIR.glob("*")) + list(BOOKS_DIR.glob("*")):
        if current is None or folder.resolve() != current:
            shutil.rmtree(folder, ignore_errors=True)
