"""The book as a reader meets it: every page of the real book, built once in a copy of the
repository, opened in Chromium with the network cut off.

On every page: no console error, no uncaught exception, no failed or blocked request (any
host but 127.0.0.1 is blocked and counts as a failure), every image loaded with alt text,
every inline SVG loaded and labelled (or hidden from assistive technology). Across the book:
every internal link and fragment resolves, every "Source" link lands on an element of the
sources page, and the summary shows the headline figures its glue names. A screenshot of
each page is saved to `test-artifacts/book/`.

Debian's chromium drives it (`.ci/run` installs it with apt-get); with `CI` set, a missing
chromium fails the run rather than skipping it.
"""

from __future__ import annotations

import functools
import html.parser
import json
import re
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import page_visits
import pytest
from browsing import GLUE_ROLE, go_to, serve
from page_visits import book_pages

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = page_visits.ARTIFACTS


# --- the built book, served -------------------------------------------------------------------


@pytest.fixture(scope="module")
def book_html(real_book_repo) -> Path:
    return (real_book_repo / "_build" / "html").resolve()


@pytest.fixture(scope="module")
def origin(book_html):
    with serve(book_html) as address:
        yield address


@pytest.fixture(scope="module")
def visits(reader_visits, book_html) -> dict[str, dict]:
    """Every page, opened once (conftest's `reader_visits`): what it logged, requested and
    showed."""
    return {name: {key: reader_visits[name][key] for key in ("problems", "text", "images",
                                                              "svgs")}
            for name in book_pages(book_html)}


# --- in the browser ---------------------------------------------------------------------------


def test_every_page_of_the_book_is_opened(visits, book_html):
    expected = {"book/summary.html", "book/sources.html", "book/glossary.html",
                "book/data.html", "book/build_info.html", "book/method.html",
                "notebooks/also_on_this_page.html", "notebooks/summary_charts.html"}
    assert expected <= set(visits), sorted(expected - set(visits))
    assert len(list((ARTIFACTS).glob("*.png"))) >= len(visits)


def test_no_page_logs_a_console_error_or_fails_a_request(visits):
    problems = {name: visit["problems"] for name, visit in visits.items() if visit["problems"]}
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def test_every_image_has_loaded_and_has_alt_text(visits):
    bad = {name: [i for i in visit["images"] if not (i["loaded"] and i["alt"])]
           for name, visit in visits.items()}
    bad = {name: images for name, images in bad.items() if images}
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)
    charts = [i for visit in visits.values() for i in visit["images"]
              if i["src"].endswith(".svg") and "/_images/" in i["src"]]
    assert len(charts) >= 4, "the chapters' charts are published as SVG images"


def test_every_visible_inline_svg_is_drawn_and_labelled(visits):
    bad = {name: [s for s in visit["svgs"] if not s["hidden"]
                  and not (s["drawn"] and s["label"])]
           for name, visit in visits.items()}
    bad = {name: svgs for name, svgs in bad.items() if svgs}
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)


def test_the_summary_shows_the_headline_figures_it_glues(visits, real_book_repo):
    headlines = json.loads((real_book_repo / "_build" / "headline_values.json")
                           .read_text(encoding="utf-8"))
    source = (real_book_repo / "book" / "summary.md").read_text(encoding="utf-8")
    shown = visits["book/summary.html"]["text"]
    roles = GLUE_ROLE.findall(source)
    assert len(roles) >= 10, "the summary's figures come from glue"
    missing = []
    for notebook, name in roles:
        by_name = {h["name"]: h for h in headlines[notebook]}
        entry = by_name[name.removesuffix("_text")]
        expected = entry["text"] if name.endswith("_text") else str(entry["value"])
        if expected not in shown:
            missing.append(f"{notebook}::{name} = {expected!r}")
    assert not missing, f"not shown on the summary: {missing}"
    assert "Headline figures" in shown


def test_every_source_link_lands_on_an_element_of_the_sources_page(browser, origin, book_html):
    targets = sorted({href for page in book_pages(book_html)
                      for href in _links(book_html / page) if "sources.html#" in href})
    ids = {urldefrag(href).fragment for href in targets}
    page = browser.new_page()
    try:
        page.goto(f"{origin}/book/sources.html", wait_until="load")
        found = page.evaluate("ids => ids.filter(id => document.getElementById(id))",
                              sorted(ids))
        # A reader following one: the clause is scrolled into view and outlined.
        page.goto(f"{origin}/book/sources.html#yongchuan_vehicles_shipped", wait_until="load")
        outlined = page.evaluate("""() => {
            const mark = document.getElementById("yongchuan_vehicles_shipped").closest("mark");
            const box = mark.getBoundingClientRect();
            return {visible: box.top >= 0 && box.bottom <= window.innerHeight,
                    outline: getComputedStyle(mark).outlineStyle};
        }""")
        page.screenshot(path=ARTIFACTS / "sources-at-yongchuan_vehicles_shipped.png")
    finally:
        page.close()
    assert sorted(ids - set(found)) == []
    assert outlined == {"visible": True, "outline": "solid"}


def test_the_book_reads_offline_from_the_file_system(browser, book_html):
    """Opened as files (`_build/html/index.html`, no server, no network): the redirect to the
    summary works and no page logs an error or fails a request."""
    problems: dict[str, list[str]] = {}
    context = browser.new_context()

    def offline_only(route):
        if urlsplit(route.request.url).scheme in ("file", "data", "blob", "about"):
            route.continue_()
        else:
            problems.setdefault("blocked", []).append(route.request.url)
            route.abort()

    context.route("**/*", offline_only)
    try:
        page = context.new_page()
        page.goto((book_html / "index.html").as_uri(), wait_until="load")
        page.wait_for_url("**/book/summary.html")
        page.close()
        page, current = context.new_page(), {"found": []}
        page.on("console", lambda m: current["found"].append(f"console: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: current["found"].append(f"exception: {e}"))
        page.on("requestfailed", lambda r: current["found"].append(f"failed: {r.url}"))
        for name in book_pages(book_html):
            current["found"] = found = []
            go_to(page, (book_html / name).as_uri())
            broken = page.evaluate(
                "() => [...document.images].filter(i => !(i.complete && i.naturalWidth))"
                ".map(i => i.src)")
            found += [f"image not loaded: {src}" for src in broken]
            if found:
                problems[name] = found
    finally:
        context.close()
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


# --- without the browser: links in the HTML ---------------------------------------------------


class _LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("name"):
            self.ids.add(attributes["name"])
        for key in ("href", "src") if tag in ("a", "link", "img", "script") else ():
            if attributes.get(key):
                self.links.append(attributes[key])


@functools.cache
def _parsed(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _links(path: Path) -> list[str]:
    return _parsed(path).links


def internal_link_problems(html_dir: Path) -> list[str]:
    """Every relative href/src of every page must name a file of the book, and its fragment an
    id in that file."""
    problems = []
    for page in book_pages(html_dir) + ["index.html"]:
        path = html_dir / page
        for link in _links(path):
            if urlsplit(link).scheme or link.startswith("//"):
                continue  # external: checked where a network exists, not here
            parts = urlsplit(urljoin(page, link))
            target, fragment = parts.path, parts.fragment
            target_path = html_dir / unquote(target) if target else path
            if target_path.is_dir():
                target_path = target_path / "index.html"
            if not target_path.resolve().is_relative_to(html_dir) or not target_path.exists():
                problems.append(f"{page}: {link} -> missing file")
            elif fragment and target_path.suffix == ".html" and \
                    unquote(fragment) not in _parsed(target_path).ids:
                problems.append(f"{page}: {link} -> no id {fragment!r}")
    return problems


def test_every_internal_link_and_anchor_resolves(book_html):
    problems = internal_link_problems(book_html)
    assert not problems, "\n".join(problems[:40])


def test_the_book_needs_nothing_from_another_host(book_html):
    """Offline: no page loads a script, style sheet or image from elsewhere."""
    remote = []
    for page in book_pages(book_html):
        text = (book_html / page).read_text(encoding="utf-8")
        for match in re.finditer(r'<(script|link|img)\b[^>]*\b(?:src|href)="(https?:)?//', text):
            remote.append(f"{page}: {match.group(0)[:100]}")
    assert not remote, "\n".join(remote)


def test_the_internal_link_check_finds_a_broken_anchor(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text(
        '<a href="b.html#here">ok</a> <a href="b.html#gone">x</a> <a href="c.html">y</a>'
        ' <a href="https://example.org/">external</a>')
    (tmp_path / "book" / "b.html").write_text('<span id="here"></span>')
    (tmp_path / "index.html").write_text('<a href="book/a.html">a</a>')
    problems = internal_link_problems(tmp_path)
    assert problems == ["book/a.html: b.html#gone -> no id 'gone'",
                        "book/a.html: c.html -> missing file"]
