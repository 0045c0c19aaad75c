"""The PDF edition: every page of the built book, in the order of its table of contents, printed
by Debian's Chromium (through Playwright) into `_build/pdf/<book>.pdf`.

The pages' article bodies are put into one document after a title page (the book's
provenance, read from its build-information and sources pages) and a contents page, and that
document is printed once: internal links become links inside the PDF, a chapter starts on a
new page, its headings give the bookmarks (`outline=True`), the charts stay SVG (vector), and
the book's own CJK web font is embedded. A second print fills the contents page's page numbers
from the first print's bookmarks.

Nothing is fetched: the browser is served the book's own files, from its folder.
"""

from __future__ import annotations

import html
import os
import posixpath
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from cqbook.paths import BUILD_DIR

PDF_DIR = BUILD_DIR / "pdf"
PUBLISHED_HTML = BUILD_DIR / "html"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
# The book is served to the browser under this made-up origin, from its folder; the combined
# document sits one folder down, as every page of the book does, so the pages' own relative
# links to style sheets and images still hold.
ORIGIN = "http://book.cqbook.invalid"
DOCUMENT_PATH = "book/__pdf_edition__.html"

PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm 18mm 16mm; }
html, body { background: #fff; }
body { margin: 0; font-size: 10.5pt; }
.cq-pdf-part { break-before: page; }
.cq-pdf-title-page { break-after: page; padding-top: 30mm; }
.cq-pdf-title { font-size: 24pt; font-weight: 700; line-height: 1.25; margin: 0 0 6mm 0; }
.cq-pdf-subtitle { font-size: 13pt; margin: 0 0 14mm 0; }
.cq-pdf-title-page table { border-collapse: collapse; font-size: 10pt; }
.cq-pdf-title-page th { text-align: left; padding: 1.5mm 6mm 1.5mm 0; vertical-align: top; }
.cq-pdf-title-page td { padding: 1.5mm 0; overflow-wrap: anywhere; }
.cq-pdf-contents-title { font-size: 16pt; font-weight: 700; margin: 0 0 5mm 0; }
.cq-pdf-contents ol { padding-left: 0; list-style: none; }
.cq-pdf-contents li { display: flex; gap: 3mm; margin: 0 0 2.5mm 0; }
.cq-pdf-contents li a { flex: 1; }
.cq-pdf-contents li .cq-pdf-page-number { min-width: 8mm; text-align: right; }
/* What only works on a screen: permalinks, toggles (a hidden cell's input stays hidden),
   copy buttons. Shadows would be printed as raster images. */
a.headerlink, .cell.tag_hide-input > details.above-input, .cell.tag_hide-input .cell_input,
button, .toggle-button { display: none !important; }
/* :is(#…, *) has an id's weight, above the theme's own `!important` shadows on admonitions */
:is(#cq-pdf, *) { box-shadow: none !important; text-shadow: none !important; }
a { color: #085d6c; }
.cq-pdf-edition { display: none !important; }
"""

HEADER = ('<div style="font-size:7.5pt; width:100%; margin:0 16mm; color:#555; '
          'font-family:sans-serif;"><span class="title"></span></div>')
FOOTER = ('<div style="font-size:8pt; width:100%; text-align:center; color:#333; '
          'font-family:sans-serif;"><span class="pageNumber"></span> / '
          '<span class="totalPages"></span></div>')


class PdfError(RuntimeError):
    """The PDF cannot be made (no built book, no Chromium, a page not as expected)."""


@dataclass
class Part:
    path: str  # relative to the book's folder, e.g. "notebooks/yongchuan.html"
    title: str

    @property
    def key(self) -> str:
        return "p-" + re.sub(r"[^A-Za-z0-9]+", "-", self.path.removesuffix(".html"))


# --- reading the built book ---------------------------------------------------------------------


def edition(html_dir: Path) -> tuple[str, Path | None]:
    """(`zh`, the English book) for an edition's folder inside the English book (see
    cqbook/build/editions.py), else (`en`, None)."""
    from cqbook.build.editions import LANGUAGES

    html_dir = Path(html_dir)
    if html_dir.name in LANGUAGES and (html_dir.parent / "index.html").is_file():
        return html_dir.name, html_dir.parent
    return "en", None


def _translator(html_dir: Path):
    from cqbook.build.pages.common import translator

    return translator(edition(html_dir)[0])


def _read(html_dir: Path, path: str) -> str:
    file = html_dir / path
    if not file.is_file():
        raise PdfError(f"{file}: missing from the built book")
    return file.read_text(encoding="utf-8")


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def root_page(html_dir: Path) -> str:
    """The page index.html redirects to (the book's root in _toc.yml)."""
    match = re.search(r'url=([^"\']+)', _read(html_dir, "index.html"))
    if not match:
        raise PdfError(f"{html_dir / 'index.html'}: no redirect to the book's first page")
    return match.group(1).strip()


def table_of_contents(html_dir: Path) -> list[Part]:
    """The root page, then every page of the sidebar's table of contents, in its order."""
    root = root_page(html_dir)
    text = _read(html_dir, root)
    nav = re.search(r'<nav class="[^"]*\bbd-docs-nav\b[^"]*".*?</nav>', text, flags=re.DOTALL)
    if not nav:
        raise PdfError(f"{html_dir / root}: no table of contents (nav.bd-docs-nav)")
    paths = [root]
    for href in re.findall(r'<a class="reference internal" href="([^"#]+)"', nav.group(0)):
        path = urljoin(root, href)
        if path not in paths:
            paths.append(path)
    return [Part(path, page_title(html_dir, path)) for path in paths]


def page_title(html_dir: Path, path: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", article(html_dir, path), flags=re.DOTALL)
    if not match:
        raise PdfError(f"{html_dir / path}: no <h1> title")
    return _text(match.group(1)).rstrip("#").strip()


def article(html_dir: Path, path: str) -> str:
    match = re.search(r'<article class="bd-article"[^>]*>(.*?)</article>',
                      _read(html_dir, path), flags=re.DOTALL)
    if not match:
        raise PdfError(f"{html_dir / path}: no <article class=\"bd-article\">")
    return match.group(1)


def provenance(html_dir: Path) -> dict[str, str]:
    """Paper and date (inferred), build commit and data hash, as the book printed them (an
    edition's: as the English book beside it printed them, the same build)."""
    english = edition(html_dir)[1]
    if english is not None:
        from cqbook.build.editions import value_shape

        facts = provenance(english)
        shape, pieces = value_shape(facts["date"])
        return {**facts, "date": shape.format(*pieces)}
    info = _read(html_dir, "book/build_info.html")
    sources = _text(_read(html_dir, "book/sources.html"))
    found = {
        "commit": re.search(r"Build commit: <code[^>]*>(.*?)</code>", info, flags=re.DOTALL),
        "data_hash": re.search(r"Data package \(SHA-256[^)]*\): <code[^>]*>(.*?)</code>", info,
                               flags=re.DOTALL),
        "paper_date": re.search(r"inferred \((.+?), about ([^)]+)\)", sources),
    }
    missing = [name for name, match in found.items() if not match]
    if missing:
        raise PdfError(f"{html_dir / 'book'}: the build-information or sources page does not "
                       f"give {', '.join(missing)}")
    return {"commit": _text(found["commit"].group(1)),
            "data_hash": _text(found["data_hash"].group(1)),
            "paper": found["paper_date"].group(1).strip(),
            "date": found["paper_date"].group(2).strip()}


# --- the combined document ----------------------------------------------------------------------


def _rewrite(body: str, part: Part, parts: list[Part]) -> str:
    """Ids made unique across the book (`<key>--<id>`); links to a page of the PDF become links
    inside it; links to other files of the book (downloads) lose their target, which a PDF
    could not open; `src` becomes absolute under ORIGIN; external links stay."""
    keys = {p.path: p.key for p in parts}
    base = f"{ORIGIN}/{part.path}"

    def attribute(match: re.Match) -> str:
        name, value = match.group(1), html.unescape(match.group(2))
        if name == "id":
            return f'id="{part.key}--{html.escape(value)}"'
        target = urljoin(base, value)
        if name == "src":
            return f'src="{html.escape(target)}"'
        if not target.startswith(ORIGIN + "/"):
            return match.group(0)
        path, fragment = urldefrag(unquote(target[len(ORIGIN) + 1:]))
        if path in keys:
            anchor = f"{keys[path]}--{fragment}" if fragment else keys[path]
            return f'href="#{html.escape(anchor)}"'
        return 'data-pdf-unlinked="' + html.escape(path) + '"'

    return re.sub(r'\b(id|href|src)="([^"]*)"', attribute, body)


def _title_page(title: str, facts: dict[str, str], tr) -> str:
    rows = [(tr("Newspaper (inferred)"),
             f'<span lang="zh-Hans">{html.escape(facts["paper"])}</span>'),
            (tr("Issue (inferred)"), tr("about {date}", date=html.escape(facts["date"]))),
            (tr("Build commit"), f"<code>{html.escape(facts['commit'])}</code>"),
            (tr("Data package (SHA-256)"), f"<code>{html.escape(facts['data_hash'])}</code>")]
    table = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<section class="cq-pdf-title-page"><p class="cq-pdf-title">{html.escape(title)}</p>'
            f'<p class="cq-pdf-subtitle">{tr(SUBTITLE)}</p><table>{table}</table></section>')


SUBTITLE = "PDF edition of the HTML book, printed from the same build"


def _contents(parts: list[Part], pages: dict[str, int], tr) -> str:
    items = "".join(
        f'<li><a href="#{p.key}">{html.escape(p.title)}</a>'
        f'<span class="cq-pdf-page-number">{pages.get(p.key, "")}</span></li>' for p in parts)
    return (f'<nav class="cq-pdf-contents" aria-label="{tr("Contents")}"><p '
            f'class="cq-pdf-contents-title">{tr("Contents")}</p><ol>{items}</ol></nav>')


def document(html_dir: Path, pages: dict[str, int] | None = None) -> tuple[str, list[Part]]:
    """The whole book as one HTML document, and its parts in order."""
    parts = table_of_contents(html_dir)
    first = _read(html_dir, parts[0].path)
    sheets = "\n".join(
        re.sub(r'href="([^"]+)"', lambda m: f'href="{urljoin(f"{ORIGIN}/{parts[0].path}", m[1])}"',
               tag) for tag in re.findall(r'<link\b[^>]*rel="stylesheet"[^>]*>', first))
    book_title, tr = document_title(html_dir), _translator(html_dir)
    body = [_title_page(book_title, provenance(html_dir), tr), _contents(parts, pages or {}, tr)]
    for part in parts:
        body.append(f'<section class="cq-pdf-part" id="{part.key}">'
                    f"{_rewrite(article(html_dir, part.path), part, parts)}</section>")
    text = ("<!DOCTYPE html>\n"
            f'<html lang="{"en" if edition(html_dir)[1] is None else "zh-Hans"}"><head><meta charset="utf-8"><title>{html.escape(book_title)}'
            f"</title>\n{sheets}\n<style>{PRINT_CSS}</style></head>\n"
            f'<body><main class="bd-article">{"".join(body)}</main></body></html>\n')
    return text, parts


# --- printing -----------------------------------------------------------------------------------


def pdf_name(html_dir: Path) -> str:
    """`<book>.pdf`: the book's title, lower case, words joined by hyphens (an edition's:
    the English name, `-<lang>` added)."""
    lang, english = edition(html_dir)
    if english is not None:
        return pdf_name(english).removesuffix(".pdf") + f"-{lang}.pdf"
    title = document_title(html_dir)
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".pdf"


def document_title(html_dir: Path) -> str:
    """The book's title: what follows " — " in the root page's <title>."""
    first = _read(html_dir, root_page(html_dir))
    match = re.search(r"<title>(.*?)</title>", first, flags=re.DOTALL)
    if not match:
        raise PdfError(f"{html_dir / root_page(html_dir)}: no <title>")
    title = _text(match.group(1))
    return title.split(" — ")[-1] if " — " in title else title


def _serve(html_dir: Path, combined: dict[str, str]):
    def handle(route):
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != ORIGIN:
            route.abort()  # nothing from another host
            return
        path = unquote(url.path).lstrip("/")
        if path in combined:
            route.fulfill(status=200, content_type="text/html; charset=utf-8",
                          body=combined[path])
            return
        file = (html_dir / path).resolve()
        english = edition(html_dir)[1]
        if english is not None and not file.is_file():  # the font an edition shares
            file = (english / path).resolve()
        if (file.is_relative_to(html_dir) or english and file.is_relative_to(english)) \
                and file.is_file():
            route.fulfill(status=200, path=str(file))
        else:
            route.fulfill(status=404, body="not in the book")
    return handle


# What Chromium makes bookmarks of (headings shown), as a reader sees them.
HEADINGS_JS = """() => [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
  .filter(h => h.checkVisibility()).map(h => h.innerText.replace(/\\s+/g, " ").trim())"""


def _print(browser, html_dir: Path, text: str, output: Path, title: str) -> list[str]:
    """Print `text` to `output`; return the headings, in order."""
    context = browser.new_context()
    try:
        context.route("**/*", _serve(html_dir, {DOCUMENT_PATH: text}))
        page = context.new_page()
        page.goto(f"{ORIGIN}/{DOCUMENT_PATH}", wait_until="load")
        page.evaluate("document.fonts.ready.then(() => true)")
        page.emulate_media(media="print")
        headings = page.evaluate(HEADINGS_JS)
        page.pdf(path=str(output), format="A4", outline=True, tagged=True,
                 print_background=True, display_header_footer=True,
                 header_template=HEADER.replace('<span class="title"></span>',
                                                html.escape(title)),
                 footer_template=FOOTER, prefer_css_page_size=True,
                 margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"})
    finally:
        context.close()
    return headings


def _outline_entries(outlines):
    """Every bookmark, depth first (the order of the headings they were made from)."""
    entry = outlines.get("/First")
    while entry is not None:
        entry = entry.get_object()
        yield entry
        yield from _outline_entries(entry)
        entry = entry.get("/Next")


def retitle_bookmarks(pdf: Path, headings: list[str]) -> None:
    """Chromium titles a bookmark with its heading's lines run together ("One page
    ofChongqing…", sometimes a line twice); give each its heading's text, keeping where it
    points."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=pdf)
    entries = list(_outline_entries(writer.root_object["/Outlines"].get_object()))
    if len(entries) != len(headings):
        raise PdfError(f"{pdf}: {len(entries)} bookmarks for {len(headings)} headings")
    for entry, heading in zip(entries, headings):
        entry[NameObject("/Title")] = TextStringObject(heading)
    with open(pdf, "wb") as handle:
        writer.write(handle)


def part_pages(pdf: Path, parts: list[Part]) -> dict[str, int]:
    """The page (from 1) each part starts on: its top-level bookmark's destination."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    top = [item for item in reader.outline if not isinstance(item, list)]
    if len(top) != len(parts):
        raise PdfError(f"{pdf}: {len(top)} top-level bookmarks for {len(parts)} pages of the "
                       "book (each page must have exactly one <h1>)")
    return {part.key: reader.get_destination_page_number(item) + 1
            for part, item in zip(parts, top)}


def write_pdf(html_dir: Path | None = None, output: Path | None = None) -> Path:
    """Print the built book (default: the published `_build/html`) to `output` (default:
    `_build/pdf/<book>.pdf`); return its path."""
    html_dir = Path(html_dir or PUBLISHED_HTML)
    if not (html_dir / "index.html").is_file():
        raise PdfError(f"no built book at {html_dir}: run `make book` first")
    html_dir = html_dir.resolve()
    if not CHROMIUM.exists():
        raise PdfError(f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y "
                       "chromium`) or set CHROMIUM to its path")
    output = Path(output or PDF_DIR / pdf_name(html_dir))
    output.parent.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    # Chromium draws the running header without the page's web fonts: an edition's header
    # gives the English title, which needs none.
    title = document_title(edition(html_dir)[1] or html_dir)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            text, parts = document(html_dir)
            draft = Path(scratch) / "draft.pdf"
            _print(browser, html_dir, text, draft, title)
            text, _ = document(html_dir, part_pages(draft, parts))
            partial = output.with_name(f".{output.name}.tmp")
            retitle_bookmarks(partial, _print(browser, html_dir, text, partial, title))
            os.replace(partial, output)  # never a half-written PDF under the final name
        finally:
            browser.close()
    return output


# --- the HTML book links to its PDF -------------------------------------------------------------

# Marks what linking added, so that printing again replaces it instead of adding a second link.
LINK_CLASS = "cq-pdf-edition"
_ADDED = re.compile(rf'<(li|p) class="{LINK_CLASS}[^"]*">.*?</\1>\n?', flags=re.DOTALL)
# The theme's own "print this page" entry of every page's download menu; the PDF edition goes
# just before it.
_PRINT_ENTRY = re.compile(r'<li>\s*<button onclick="window\.print\(\)"')


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def link_pages(html_dir: Path, pdf: Path, editions: tuple[str, ...] = ()) -> int:
    """Copy `pdf` into the book `html_dir` (a copy, not the published folder) and link it from
    every page's download menu and from the root page's text, except the pages of the other
    `editions` folders inside it; return how many pages link it."""
    from pypdf import PdfReader

    shutil.copyfile(pdf, html_dir / pdf.name)
    tr = _translator(html_dir)
    pages = len(PdfReader(pdf).pages)
    described = tr("{pages} pages, {size}", pages=pages, size=_size(pdf))
    root = root_page(html_dir)
    linked = 0
    for page in sorted(html_dir.rglob("*.html")):
        relative = page.relative_to(html_dir).as_posix()
        if relative.split("/", 1)[0] in editions:  # another edition links its own PDF
            continue
        if edition(html_dir / relative.split("/")[0])[1] is not None:
            continue  # an edition in a folder of the book links its own PDF
        href = html.escape(posixpath.relpath(pdf.name, posixpath.dirname(relative) or "."))
        text = _ADDED.sub("", page.read_text(encoding="utf-8"))
        entry = (f'<li class="{LINK_CLASS}"><a href="{href}" class="btn btn-sm dropdown-item" '
                 f'title="{tr("The whole book as a PDF ({described})", described=described)}">'
                 '<span class="btn__icon-container"><i class="fas fa-book"></i></span><span '
                 f'class="btn__text-container">{tr("PDF edition")}</span></a></li>\n')
        text, found = _PRINT_ENTRY.subn(lambda match, entry=entry: entry + match.group(0),
                                        text, count=1)
        if relative == root:
            paragraph = (f'<p class="{LINK_CLASS} d-print-none">'
                         f'{tr("The whole book is also a PDF:")} '
                         f'<a href="{href}">{html.escape(pdf.name)}</a> ({described}).</p>')
            # after the article's own title (the theme prints a copy of it for print only)
            title = re.compile(r'(<article class="bd-article".*?<h1[^>]*>.*?</h1>)', re.DOTALL)
            text = title.sub(lambda match, paragraph=paragraph: f"{match.group(1)}\n{paragraph}",
                             text, count=1)
        page.write_text(text, encoding="utf-8")
        linked += found
    return linked


def publish_with_pdf(note=print) -> tuple[Path, int]:
    """Print the published book and publish it again with the PDF inside and linked: the book
    a reader opens and its PDF are then always of the same build. Returns the PDF's path and
    the number of pages linking it.

    The PDF is made after Sphinx, so the book gets it by being published anew (a copy, swapped
    in whole, its manifest recorded), never by writing into the published folder, which the
    next build would find changed. A later build of a changed book publishes one without it."""
    from cqbook.build import pipeline, publishing

    with pipeline.build_lock():
        state = publishing.read_state(note)
        trouble = "no book is published" if state is None else publishing.problem(
            state, publishing.look())
        if trouble:
            raise PdfError(f"{trouble}: run `make book` first")
        published = publishing.published_book()
        output = write_pdf(published)
        editions = {folder.name: write_pdf(folder) for folder in sorted(published.iterdir())
                    if folder.is_dir() and edition(folder)[1] is not None}
        stage = publishing.new_stage()
        try:
            copy = stage / "html-with-pdf"
            shutil.copytree(published, copy, symlinks=True)
            linked = link_pages(copy, output, tuple(editions))
            for lang, pdf in editions.items():
                note(f"pdf: {pdf}\npdf: the {lang} edition links it from "
                     f"{link_pages(copy / lang, pdf)} pages")
            if not linked:
                raise PdfError(f"{published}: no page has the theme's download menu, so "
                               "nothing could link the PDF")
            publishing.publish(copy, stage, state["book_key"], note)
        finally:
            publishing.release_stage(stage)
        publishing.remove_leftovers(state, note)
    return output, linked
