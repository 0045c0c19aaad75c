"""The book's generated pages: sources, glossary, data and build information, and the small
provenance box at the top of each chapter.

Each is a pure function of the data package and of what the build knows (parameters,
execution times, the commit), so none is committed: `publishing.stage_sources` writes them
into the staged book at every Sphinx build. Everything taken from the data or from a
parameter is text, never markup: inside raw HTML through `esc` (`html.escape`, and line
breaks as character references, so that no blank line ends the HTML block and lets MyST read
what follows); in a heading or a paragraph through `md_text` (every ASCII punctuation mark
backslash-escaped). A quote holding `<script>`, a MyST role, a ```` ```{literalinclude} ````
fence or a Markdown table bar shows as text; only the page frames (titles, prose written
here) are MyST.
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cqbook.analysis.links import anchor_id
from cqbook.paths import DATA_DIR, REPO_ROOT

# Generated page name (book/<name>.md in the stage) -> title
GENERATED = {"sources": "Sources: the page itself",
             "glossary": "Glossary",
             "data": "Data: the tables, to download",
             "build_info": "Build information"}
WEBFONT_PLACEHOLDER = '<span id="webfont-stats">(web font: see build)</span>'
STYLESHEET_NAME = "cqbook.css"
STYLESHEET = """\
/* cqbook: generated pages and chapter provenance boxes */
.cq-page p { margin: 0 0 0.6em 0; line-height: 1.9; }
.cq-page { border-left: 3px solid #999999; padding-left: 1em; }
/* Highlighted figures: own text colour in both modes (WCAG AA, 4.5:1; the browser test
   tests/test_accessibility_browser.py measures it), never the page's. */
mark.cq-figure { background: #fdf0c2; color: #1f2328; padding: 0 0.1em;
                 border-bottom: 2px solid #B37A00; }
.cq-anchor { scroll-margin-top: 6rem; }
mark.cq-figure:has(.cq-anchor:target) { background: #ffd27a; color: #1f2328;
                                        outline: 2px solid #D55E00; }
html[data-theme="dark"] mark.cq-figure { background: #4a3a08; color: #f6f0dc;
                                         border-bottom-color: #E69F00; }
html[data-theme="dark"] mark.cq-figure:has(.cq-anchor:target) { background: #6b4a00;
                                         color: #ffffff; outline-color: #ff9c5b; }
table.cq-table { font-size: 0.9em; }
table.cq-table td, table.cq-table th { vertical-align: top; }
.cq-provenance code, .cq-build code { word-break: break-all; }
.cq-provenance table.cq-table { width: auto; margin: 0.3em 0; font-size: 0.85em; }
.cq-provenance table.cq-table td, .cq-provenance table.cq-table th { padding: 0.15em 0.8em; }
.cq-provenance p { margin: 0.3em 0; }
/* Print (and the PDF edition, cqbook/build/pdf.py): nothing cut off at the page's right edge;
   code and tables wrap instead of scrolling. */
@media print {
  mark.cq-figure { background: none; color: inherit; border-bottom: 1px solid #000; }
  pre, pre code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  div.cell_output .output, .pst-scrollable-table-container, .table-wrapper,
  div.highlight, .output_area { overflow: visible !important; max-height: none !important; }
  table { max-width: 100%; table-layout: auto; }
  td, th { overflow-wrap: break-word; }
  img, svg, figure { max-width: 100% !important; height: auto; break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
}
"""
KIND_TITLES = {"place": "Places", "firm": "Firms", "project": "Projects", "policy": "Policy",
               "organisation": "Organisations", "brand": "Brands", "unit": "Units"}
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]+")
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAK = re.compile(r"\r\n?|\n")


def esc(value: Any) -> str:
    """Text for raw HTML: every character that could open markup is escaped, and a line
    break becomes `&#10;` (a blank line would end the raw HTML block: MyST would read the
    rest as Markdown, directives included)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return _LINE_BREAK.sub("&#10;", html.escape(str(value), quote=True))


def md_text(value: Any) -> str:
    """Text for a MyST heading or paragraph: one line, every ASCII punctuation mark
    backslash-escaped, so that no role, directive, link, HTML tag or emphasis can open."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


def html_table(columns: list[str], rows: list[list[str]], escape: bool = True) -> str:
    """One raw-HTML table on consecutive lines (MyST keeps an HTML block until a blank line)."""
    cell = esc if escape else str
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                     for row in rows)
    return (f'<table class="table cq-table">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            f"{body}\n</tbody>\n</table>")


# --- the build's state -------------------------------------------------------------------------


@dataclass
class NotebookState:
    name: str
    parameters: dict[str, Any]
    defaults: bool
    seconds: float | None = None
    status: str = "cached"  # "executed" in this build, or "cached" from an earlier one


@dataclass
class BookState:
    notebooks: dict[str, NotebookState] = field(default_factory=dict)
    commit: str = "no git"
    data_hash: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    python: str = ""


def commit_description(repo: Path = REPO_ROOT) -> str:
    """`git rev-parse --short HEAD`, plus "+ uncommitted changes" for a dirty tree; "no git"
    outside a checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "no git"
    return f"{head} + uncommitted changes" if dirty else head


def package_versions(requirements: Path = REPO_ROOT / "requirements.txt") -> dict[str, str]:
    """Installed version of every package pinned in requirements.txt (sorted by name), and
    a last row for the lock beside it: its digest, and every installed package whose version
    is not the locked one."""
    versions = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name = re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions = dict(sorted(versions.items(), key=lambda item: item[0].lower()))
    lock = requirements.with_suffix(".lock")
    if lock.exists():
        import hashlib

        def _normalized(name: str) -> str:
            return re.sub(r"[-_.]+", "-", name).lower()

        text = lock.read_text(encoding="utf-8")
        locked = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text, flags=re.MULTILINE)
        installed = {_normalized(d.metadata["Name"]): d.version
                     for d in importlib.metadata.distributions()}
        moved = [f"{name} {installed[_normalized(name)]} (locked {version})"
                 for name, version in locked
                 if installed.get(_normalized(name), version) != version]
        digest = hashlib.sha256(text.encode()).hexdigest()
        versions[lock.name] = (f"SHA-256 {digest[:16]}…, {len(locked)} packages; "
                               + (f"not as locked: {', '.join(moved)}" if moved
                                  else "installed as locked"))
    return versions


# --- provenance box ----------------------------------------------------------------------------


def _parameter_rows(parameters: dict[str, Any]) -> str:
    if not parameters:
        return "<p>This chapter has no parameters.</p>"
    rows = [[name, json.dumps(value, ensure_ascii=False)] for name, value in
            sorted(parameters.items())]
    return html_table(["parameter", "value"], rows)


def provenance_box(notebook: NotebookState, state: BookState) -> str:
    """The markdown cell put after a chapter's title: what made this page."""
    which = ("the defaults declared in the notebook" if notebook.defaults else
             "<strong>not the defaults</strong>: see the values below")
    return "\n".join([
        '<div class="admonition note cq-provenance">',
        '<p class="admonition-title">How this page was made</p>',
        f"<p>Run with {which}.</p>",
        _parameter_rows(notebook.parameters),
        f"<p>Data package (SHA-256): <code>{esc(state.data_hash)}</code><br>",
        (f"Build commit: <code>{esc(state.commit)}</code> · "
        '<a href="../book/build_info.html">build information</a> · '
        '<a href="../book/method.html">how to re-run this chapter</a></p>'),
        "</div>",
    ])


def add_provenance(notebook_json: dict, box: str) -> dict:
    """Insert `box` as a markdown cell after the title cell (the first markdown cell with a
    `# ` heading), or first."""
    cells = list(notebook_json["cells"])
    position = next((i + 1 for i, cell in enumerate(cells) if cell["cell_type"] == "markdown"
                     and "".join(cell["source"]).lstrip().startswith("# ")), 0)
    if position:
        # A title cell that goes on (title + overview in one cell): the box goes under the
        # title line, so the rest becomes a cell of its own.
        title_cell = dict(cells[position - 1])
        title, _, rest = "".join(title_cell["source"]).lstrip().partition("\n")
        if rest.strip():
            title_cell["source"] = title
            remainder = {**title_cell, "id": f"{title_cell.get('id', 'title')}-rest",
                         "source": rest.strip("\n")}
            cells[position - 1] = title_cell
            cells.insert(position, remainder)
    cell = {"cell_type": "markdown", "id": "cqbook-provenance", "metadata": {},
            "source": box}
    notebook_json["cells"] = cells[:position] + [cell] + cells[position:]
    return notebook_json


# --- sources -----------------------------------------------------------------------------------


def _headline_spans(page: str, articles: pd.DataFrame) -> list[tuple[int, int]]:
    spans = []
    for headline in articles["headline_zh"]:
        for part in headline.split():
            start = page.find(part)
            if start >= 0:
                spans.append((start, start + len(part)))
    return spans


def figure_spans(page: str, figures: pd.DataFrame,
                 articles: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Where each figure is on the page: its quote's first occurrence outside a headline (a
    headline repeats the article's number; the sentence is what the figure was read from)."""
    headlines = _headline_spans(page, articles)
    spans = {}
    for figure in figures.sort_values("figure_id").to_dict("records"):
        quote, starts, at = figure["quote"], [], page.find(figure["quote"])
        while at >= 0:
            starts.append(at)
            at = page.find(quote, at + 1)
        if not starts:
            raise ValueError(f"figure {figure['figure_id']}: quote not on the page: {quote!r}")
        body = [s for s in starts if not any(h0 <= s and s + len(quote) <= h1
                                             for h0, h1 in headlines)]
        start = (body or starts)[0]
        spans[figure["figure_id"]] = (start, start + len(quote))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def marked_page(page: str, spans: dict[str, tuple[int, int]],
                titles: dict[str, str]) -> list[str]:
    """The page as HTML paragraphs: figures' clauses in <mark>, an anchor per figure."""
    anchors: dict[int, list[str]] = {}
    for figure_id, (start, _) in spans.items():
        anchors.setdefault(start, []).append(figure_id)
    paragraphs, offset = [], 0
    for line in page.split("\n"):
        line_start, line_end = offset, offset + len(line)
        offset = line_end + 1
        if not line.strip():
            continue
        inside = _merge([(max(s, line_start), min(e, line_end)) for s, e in spans.values()
                         if s < line_end and e > line_start])
        opens = {s: e for s, e in inside}
        closes = {e for _, e in inside}
        out, open_mark = [], False
        for position in range(line_start, line_end):
            if position in closes and open_mark:
                out.append("</mark>")
                open_mark = False
            if position in opens:
                ids = [f for f, (s, e) in spans.items() if s < opens[position] and e > position]
                title = "; ".join(titles.get(f, f) for f in sorted(ids))
                out.append(f'<mark class="cq-figure" title="{esc(title)}">')
                open_mark = True
            for figure_id in sorted(anchors.get(position, [])):
                out.append(f'<span class="cq-anchor" id="{esc(anchor_id(figure_id))}"></span>')
            out.append(esc(page[position]))
        if open_mark:
            out.append("</mark>")
        paragraphs.append(f"<p>{''.join(out).strip()}</p>")
    return paragraphs


def sources_page(data_dir: Path = DATA_DIR) -> str:
    from cqbook.dataset import package

    page = package.source_text(data_dir)
    figures = package.figures(data_dir)
    articles = package.load_table("articles", data_dir)
    spans = figure_spans(page, figures, articles)
    printed = {f["figure_id"]: package.quantity(f).format() for f in figures.to_dict("records")}
    titles = {f: f"{f}: {printed[f]}" for f in spans}
    tables = []
    for article in articles.sort_values("article_id").to_dict("records"):
        own = figures[figures["article_id"] == article["article_id"]].sort_values("figure_id")
        if own.empty:
            continue
        rows = [[f'<a href="#{esc(f["figure_id"])}"><code>{esc(f["figure_id"])}</code></a>',
                 esc(f["measure"]), esc(printed[f["figure_id"]]),
                 f'<span lang="zh-Hans">{esc(f["quote"])}</span>']
                for f in own.to_dict("records")]
        tables += [f"### {md_text(article['title_en'])}", "",
                   html_table(["figure", "what it measures", "value", "clause on the page"],
                              rows, escape=False), ""]
    first = articles.iloc[0]
    return "\n".join([
        f"# {GENERATED['sources']}",
        "",
        ("This is the text every number in the book was read from, exactly as the data package "
        "holds it (`data/raw/chongqing_daily_page.txt`, checked against its SHA-256 at every "
        "build). The paper and the issue date are not printed on the page; they are inferred "
        f"({md_text(first['paper_title'])}, about {first['issue_date']:%d %B %Y}). Line breaks are "
        "as extracted: some paragraphs are cut off where the page's layout broke them."),
        "",
        (f"Each of the {len(spans)} figures in `figures.csv` is "
        '<mark class="cq-figure">highlighted</mark> where it is printed; hover for its id and '
        "value. A chapter's *Source* link lands on the clause and outlines it. A number printed "
        "again in a headline is highlighted where the sentence says it, not in the headline."),
        "",
        "## The page",
        "",
        '<div class="cq-page" lang="zh-Hans">',
        *marked_page(page, spans, titles),
        "</div>",
        "",
        "## Every figure and its clause",
        "",
        ("By article. Value as printed, with its qualifier kept (≥, >, ≈); the id links to the "
        "clause above."),
        "",
        *tables,
    ])


# --- glossary ----------------------------------------------------------------------------------


def glossary_page(data_dir: Path = DATA_DIR) -> str:
    from cqbook.dataset import package

    glossary = package.load_table("glossary", data_dir)
    parts = [f"# {GENERATED['glossary']}", "",
             (f"The {len(glossary)} Chinese terms of the page: the name as printed, its pinyin "
             "(tone marks, one syllable per character) and the English used in this book. "
             "From `glossary.csv` of the data package (see [Data](data.md))."), ""]
    kinds = list(KIND_TITLES) + sorted(set(glossary["kind"]) - set(KIND_TITLES))
    for kind in kinds:
        terms = glossary[glossary["kind"] == kind].sort_values("pinyin")
        if terms.empty:
            continue
        rows = [[f'<span lang="zh-Hans">{esc(t["term_zh"])}</span>', esc(t["pinyin"]),
                 esc(t["term_en"])] for t in terms.to_dict("records")]
        parts += [f"## {md_text(KIND_TITLES.get(kind, kind.capitalize()))}", "",
                  html_table(["Chinese", "pinyin", "English"], rows, escape=False), ""]
    return "\n".join(parts)


# --- data --------------------------------------------------------------------------------------


def _constraints(field_: dict) -> str:
    constraints = dict(field_.get("constraints", {}))
    constraints.pop("required", None)
    return "; ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in
                     sorted(constraints.items()))


def data_page(data_dir: Path = DATA_DIR, link_prefix: str = "../data/") -> str:
    """Each resource downloadable (from the copy of the package in the stage), with its
    schema."""
    package = json.loads((Path(data_dir) / "datapackage.json").read_text(encoding="utf-8"))

    def download(path: str, text: str | None = None) -> str:
        if not _SAFE_PATH.fullmatch(path) or ".." in path:
            raise ValueError(f"unsafe resource path in datapackage.json: {path!r}")
        return f"{{download}}`{text or path} <{link_prefix}{path}>`"

    parts = [f"# {GENERATED['data']}", "",
             md_text(package.get("description", "")), "",
             f"The tables are a Frictionless Data Package: {download('datapackage.json')} holds "
             "their schemas, keys and checksums. Licence: "
             + "; ".join(md_text(lic.get("title", lic.get("name", "")))
                         for lic in package.get("licenses", [])) + ".", "",
             ("CSV files are UTF-8 with LF line endings, sorted by their key. Every chapter reads "
             "them only through `cqbook.dataset.package`, which checks them against these schemas and "
             "against the page at every load."), ""]
    for resource in package["resources"]:
        digest = str(resource.get("hash", "")).removeprefix("sha256:")
        parts += [f"## {md_text(resource.get('title', resource['name']))}", "",
                  md_text(resource.get("description", "")), "",
                  f"Download: {download(resource['path'])}"
                  + (f" — SHA-256 <code>{md_text(digest)}</code>" if digest else ""), ""]
        schema = resource.get("schema")
        if not schema:
            continue
        keys = schema.get("primaryKey", [])
        if keys:
            parts += ["Primary key: " + ", ".join(f"<code>{md_text(k)}</code>" for k in keys)
                      + ".", ""]
        rows = [[f"<code>{esc(f['name'])}</code>", esc(f["type"]),
                 "yes" if f.get("constraints", {}).get("required") else "",
                 esc(_constraints(f)), esc(f.get("description", ""))]
                for f in schema["fields"]]
        parts += [html_table(["field", "type", "required", "constraints", "meaning"], rows,
                             escape=False), ""]
    return "\n".join(parts)


# --- build information -------------------------------------------------------------------------


def fill_webfont_stats(html_dir: Path, stats: dict) -> None:
    """Put the web font's numbers into the built build-information page: they are known only
    after Sphinx wrote the pages the font is subset to (the text added is ASCII, so the
    subset stays complete)."""
    page = Path(html_dir) / "book" / "build_info.html"
    if not page.exists():  # a book whose table of contents has no build-information page
        return
    text = page.read_text(encoding="utf-8")
    if WEBFONT_PLACEHOLDER not in text:
        raise RuntimeError(f"{page}: the web-font placeholder is missing")
    filled = (f'<span id="webfont-stats">{esc(stats["family"])}, '
              f'{stats["characters"]:,} characters, {stats["glyphs"]:,} glyphs, '
              f'{stats["bytes"] / 1024:,.0f} KiB '
              f'(<a href="../{esc(stats["licence_file"])}">licence</a>)</span>')
    page.write_text(text.replace(WEBFONT_PLACEHOLDER, filled), encoding="utf-8")


def build_info_page(state: BookState) -> str:
    rows = []
    for name, notebook in sorted(state.notebooks.items()):
        parameters = "<br>".join(
            f"<code>{esc(key)} = {esc(json.dumps(value, ensure_ascii=False))}</code>"
            for key, value in sorted(notebook.parameters.items())) or "—"
        seconds = "—" if notebook.seconds is None else f"{notebook.seconds:.1f}"
        status = ("executed in this build" if notebook.status == "executed"
                  else "unchanged: from the cache")
        rows.append([f'<a href="../notebooks/{esc(name)}.html">{esc(name)}</a>',
                     parameters,
                     "yes" if notebook.defaults else "<strong>no</strong>", seconds,
                     esc(status)])
    versions = [[esc(name), f"<code>{esc(version)}</code>"]
                for name, version in state.versions.items()]
    return "\n".join([
        f"# {GENERATED['build_info']}", "",
        ("What made this book: the commit of the sources, the data package, each notebook's "
        "parameters and execution, and the versions of the packages that ran them. Execution "
        "time is the last time the notebook was executed (a notebook whose inputs did not "
        "change is taken from the build cache)."), "",
        '<div class="cq-build">',
        f"<p>Build commit: <code>{esc(state.commit)}</code><br>",
        (f"Data package (SHA-256 over datapackage.json and every resource): "
        f"<code>{esc(state.data_hash)}</code><br>"),
        f"Python: <code>{esc(state.python)}</code><br>",
        f"Chinese web font: {WEBFONT_PLACEHOLDER}</p>",
        "</div>", "",
        "## Notebooks", "",
        html_table(["notebook", "parameters", "defaults", "execution (s)", "status"], rows,
                   escape=False), "",
        "## Package versions", "",
        "The packages pinned in `requirements.txt`, as installed where the book was built.", "",
        html_table(["package", "version"], versions, escape=False), "",
    ])


def generated_pages(state: BookState, data_dir: Path = DATA_DIR) -> dict[str, str]:
    """name -> MyST text of every generated page."""
    return {"sources": sources_page(data_dir), "glossary": glossary_page(data_dir),
            "data": data_page(data_dir), "build_info": build_info_page(state)}
