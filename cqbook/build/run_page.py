"""The page of one re-run (`cqbook run`), made as the book makes its chapters.

A one-page jupyter-book project is laid out in a temporary folder from the book's own
`_config.yml` (theme, extensions, search, `lang` marking, style sheet), holding the run's
executed notebook as its root page with a provenance box under the title: which parameters
differ from the published book's, and a "what changed" table of every headline value,
published → this run. jupyter-book builds it as strictly as the book (`-W -n --keep-going`),
the book's CJK web font is subset into it (`cqbook.build.webfont`), and the result becomes
`runs/<notebook>__<changes>/index.html` with its `_static/` and `_images/`: offline, and
nothing executed a second time.

Links a chapter makes to the rest of the book (`../book/sources.html#…`, `[…](../book/x.md)`)
point into the published book (`_build/html`), as does the link to the published chapter: the
page is opened from the checkout, where both live.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cqbook.paths import BUILD_DIR, REPO_ROOT

PUBLISHED_BOOK = BUILD_DIR / "html"
WEBFONT_CACHE = BUILD_DIR / "cache" / "webfont"
# What Sphinx writes besides the page; replaced as a whole when a run is made again.
PAGE_FILES = ("index.html", "_static", "_images", "genindex.html", "search.html",
              "searchindex.js", "objects.inv")
RUN_STYLES = """
/* cqbook run pages: the values that moved stand out in both modes */
.cq-changes tr.cq-moved td { font-weight: 600; }
.cq-changes p, .cq-run p { margin: 0.3em 0; }
/* pydata-sphinx-theme 0.17 sizes a table to its content, indents each child of a box by
   1.4rem on both sides, and hides what runs past the box: the last column was cut off at
   1280 px. Capped at the width the indents leave, the cells wrap instead. */
.cq-changes table.cq-table, .cq-run table.cq-table { max-width: calc(100% - 2.8rem); }
.cq-changes td, .cq-run td { overflow-wrap: break-word; }
"""
_URL_ATTRIBUTE = re.compile(r'(\b(?:href|src)=")([^"]*)(")')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class RunPageFailure(RuntimeError):
    """jupyter-book refused the run's page; the message carries its warnings."""


@dataclass(frozen=True)
class Published:
    """What the published book shows for one notebook (from results/headline_values.csv,
    which every book build rewrites); None where the book has no row for it."""

    parameters: dict[str, Any] | None
    headlines: dict[str, dict[str, str]]  # name -> {"value": JSON text, "text": as printed}


def published_values(notebook: str) -> Published:
    import csv

    from cqbook.build.results import HEADLINES_CSV

    parameters: dict[str, Any] = {}
    headlines: dict[str, dict[str, str]] = {}
    try:
        with open(HEADLINES_CSV, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["notebook"] != notebook:
                    continue
                if row["kind"] == "parameter":
                    parameters[row["name"]] = json.loads(row["text"])
                else:
                    headlines[row["name"]] = {"value": row["value"], "text": row["text"]}
    except (OSError, ValueError, KeyError):
        return Published(None, {})
    return Published(parameters or None, headlines)


def write_page(notebook: str, folder: Path, executed: Path, parameters: dict[str, Any],
               defaults: dict[str, Any], headlines: list[dict], published: Published,
               command: str, into_book: bool = False) -> Path:
    """Build the page of the run in `folder` from its executed notebook; return its path."""
    from cqbook.build import webfont

    box = run_box(notebook, folder, parameters, defaults, headlines, published, command,
                  into_book)
    with tempfile.TemporaryDirectory(prefix=f"cqbook-run-{notebook}-") as scratch:
        stage = Path(scratch) / "stage"
        _lay_out(stage, executed, box)
        html = _build(stage, Path(scratch) / "output")
        webfont.embed_cjk_font(html, WEBFONT_CACHE, _warnings_only)
        page = html / "index.html"
        page.write_text(_links_into_book(page.read_text(encoding="utf-8"), html, folder),
                        encoding="utf-8")
        for name in PAGE_FILES:
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            if (html / name).exists():
                shutil.move(html / name, target)
    return folder / "index.html"


def _warnings_only(line: str) -> None:
    if "WARNING" in line:
        print(line, file=sys.stderr)


def _lay_out(stage: Path, executed: Path, box: str) -> None:
    import yaml

    from cqbook.build import pages
    from cqbook.build.stage_guard import STAGE_MARKER

    (stage / "_static").mkdir(parents=True)
    (stage / STAGE_MARKER).write_text("a one-page stage of cqbook.build.run_page\n",
                                      encoding="utf-8")
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"Re-run · {config.get('title', '')}"
    # Links to the rest of the book are not pages of this project: kept as written (and
    # pointed into the published book afterwards) instead of failing as missing references.
    config.setdefault("sphinx", {}).setdefault("config", {})["myst_all_links_external"] = True
    (stage / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True,
                                                      sort_keys=False), encoding="utf-8")
    (stage / "_toc.yml").write_text("format: jb-book\nroot: index\n", encoding="utf-8")
    notebook = json.loads(Path(executed).read_text(encoding="utf-8"))
    (stage / "index.ipynb").write_text(json.dumps(pages.add_provenance(notebook, box),
                                                  ensure_ascii=False, indent=1),
                                       encoding="utf-8")
    (stage / "_static" / pages.STYLESHEET_NAME).write_text(pages.STYLESHEET + RUN_STYLES,
                                                           encoding="utf-8")


# jupyter-book's command line, after the package's own import: cqbook/__init__.py keeps
# jsonschema from compiling its IRI grammar, which jupyter-book's config would otherwise do
# (about 0.9 s of every run's page).
JUPYTER_BOOK = "import cqbook; from jupyter_book.cli.main import main; main()"


def _build(stage: Path, output: Path) -> Path:
    """jupyter-book's own command, as strict as the book's build."""
    command = [sys.executable, "-c", JUPYTER_BOOK,
               "build", str(stage), "--path-output", str(output), "--warningiserror",
               "--nitpick", "--keep-going", "--all"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False,
                               env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    if completed.returncode != 0:
        log = (completed.stdout + completed.stderr).splitlines()
        problems = [line for line in log if re.search(r"WARNING|ERROR|Error|Exception", line)]
        raise RunPageFailure("jupyter-book refused the run's page:\n"
                             + "\n".join((problems or log)[-20:]))
    return output / "_build" / "html"


def _links_into_book(text: str, html: Path, folder: Path) -> str:
    """Every relative link of the page to something this page does not have is read as the
    chapter wrote it, from `notebooks/` of the book, and pointed into the published book."""
    book = Path(os.path.relpath(PUBLISHED_BOOK, folder)).as_posix()

    def point(match: re.Match) -> str:
        url = match.group(2)
        if not url or url.startswith(("#", "/")) or _SCHEME.match(url):
            return match.group(0)
        path, hash_, fragment = url.partition("#")
        if (html / unquote(path.partition("?")[0])).exists():
            return match.group(0)
        in_book = posixpath.normpath(posixpath.join("notebooks", path))
        if in_book.startswith(".."):
            return match.group(0)
        in_book = re.sub(r"\.(md|ipynb)$", ".html", in_book)
        return f"{match.group(1)}{book}/{in_book}{hash_}{fragment}{match.group(3)}"

    return _URL_ATTRIBUTE.sub(point, text)


# ---------------------------------------------------------------- the box under the title


def run_box(notebook: str, folder: Path, parameters: dict[str, Any], defaults: dict[str, Any],
            headlines: list[dict], published: Published, command: str,
            into_book: bool = False) -> str:
    """What made this page and what moved: raw HTML, every value escaped."""
    from cqbook.build import pages
    from cqbook.dataset.descriptor import datapackage_hash

    esc = pages.esc
    chapter = Path(os.path.relpath(PUBLISHED_BOOK / "notebooks" / f"{notebook}.html",
                                   folder)).as_posix()
    book_parameters = published.parameters or defaults
    baseline = ("the published book before this run (now rebuilt with these values)"
                if into_book else "the published book")
    differ = [[name, _json(book_parameters.get(name)), _json(value)]
              for name, value in parameters.items() if value != book_parameters.get(name)]
    if published.parameters is None:
        said = ("The published book has no results for this chapter yet "
                "(<code>results/headline_values.csv</code>): compared with the defaults.")
    elif differ:
        values = "1 value that differs" if len(differ) == 1 else f"{len(differ)} values that differ"
        said = f"Re-run with {values} from {esc(baseline)}; every other parameter is as published."
    else:
        said = f"Re-run with the parameters of {esc(baseline)}."
    return "\n".join(line for line in [
        '<div class="admonition note cq-provenance cq-run">',
        ('<p class="admonition-title">How this page was made: a re-run, not the published '
        "book</p>"),
        (f"<p>{said} The published chapter: <a class=\"cq-published\" href=\"{esc(chapter)}\">"
        f"{esc(notebook)}</a> (in <code>_build/html</code>, after <code>make book</code>).</p>"),
        pages.html_table(["parameter", "published", "this run"], differ) if differ else "",
        f"<p>Data package (SHA-256): <code>{esc(datapackage_hash())}</code><br>",
        f"Commit: <code>{esc(pages.commit_description())}</code><br>",
        f"Made by: <code>{esc(command)}</code></p>",
        "</div>",
    ] if line) + "\n\n" + changes_box(headlines, published)


def changes_box(headlines: list[dict], published: Published) -> str:
    from cqbook.build import pages
    from cqbook.build.results import value_text

    esc = pages.esc
    rows, moved = [], 0
    for entry in headlines:
        before = published.headlines.get(entry["name"])
        changed = before is None or before["value"] != value_text(entry["value"])
        moved += changed
        rows.append(f'<tr class="{"cq-moved" if changed else "cq-same"}">'
                    f"<td>{esc(entry['label'] or entry['name'])}</td>"
                    f"<td>{esc(before['text']) if before else '—'}</td>"
                    f"<td>{esc(entry['text'])}</td>"
                    f"<td>{esc(_change(before, entry) if changed else 'unchanged')}</td></tr>")
    gone = [name for name in published.headlines if name not in {h["name"] for h in headlines}]
    rows += [f'<tr class="cq-moved"><td>{esc(name)}</td>'
             f"<td>{esc(published.headlines[name]['text'])}</td><td>—</td>"
             "<td>not recorded by this run</td></tr>" for name in gone]
    return "\n".join([
        '<div class="admonition cq-changes">',
        '<p class="admonition-title">What changed: headline values, published → this run</p>',
        f"<p>{moved + len(gone)} of {len(headlines) + len(gone)} values changed.</p>",
        '<table class="table cq-table">',
        ("<thead><tr><th>value</th><th>published</th><th>this run</th><th>change</th></tr>"
        "</thead>"),
        "<tbody>", *rows, "</tbody>", "</table>",
        "</div>",
    ])


def _change(before: dict[str, str] | None, entry: dict) -> str:
    if before is None:
        return "new"
    try:
        old = json.loads(before["value"])
    except ValueError:
        return "changed"
    new = entry["value"]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if not numeric:
        return "changed"
    difference = new - old
    shown = f"{difference:+,}" if isinstance(difference, int) else f"{difference:+,.4g}"
    return f"{shown} ({difference / old:+.1%})" if old else shown


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
