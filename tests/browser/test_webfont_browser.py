"""In a browser with no CJK font installed and no network, the book's Chinese text is drawn
with the book's own font, loaded from the book's own files.

Chromium (Debian's; Playwright's own download does not work here) opens every built page from
a local HTTP server; any request to another host is blocked. On each page with CJK text:
`document.fonts.check()` succeeds for that text, the font face was loaded from
`_static/fonts/` of the book, and Chromium reports that every element holding CJK text was
drawn with it (no fallback, so no boxes), while Latin-only text never uses it. Screenshots go
to `test-artifacts/webfont/`. The real book's pages are checked in the visit the browser
modules share (tests/page_visits.py), the fixture book's here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browsing import LOCAL_HOSTS, font_on_page, go_to, serve

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "webfont"
def system_cjk_fonts() -> str:
    """What fontconfig would give Chromium for Chinese; empty on our machines."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return ""
    return subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True,
                          check=False).stdout.strip()


def test_this_machine_has_no_system_cjk_font_so_the_book_must_bring_its_own():
    """The browser checks prove the book brings its font only where the system has none,
    as on our machines; a CJK font installed system-wide would let them pass vacuously."""
    fonts = system_cjk_fonts()
    assert not fonts, (f"this machine has system CJK fonts ({fonts.splitlines()[0]}, ...): "
                       "the browser tests would not prove the book carries its own")


def check_book(browser, html_dir: Path, label: str) -> dict[str, dict]:
    """Open every page; assert the CJK font on each page with CJK text; return the probes."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []

    def offline_only(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("file", "data", "blob", "about") or url.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    results = {}
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    with serve(html_dir) as origin:
        context.route("**/*", offline_only)
        pages = sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                       if "_static" not in p.relative_to(html_dir).parts)
        page = context.new_page()
        session = context.new_cdp_session(page)
        for name in pages:
            if 'http-equiv="refresh"' in (html_dir / name).read_text(encoding="utf-8").lower():
                results[name] = {"redirect": True, "text": ""}  # its target is opened itself
                continue
            go_to(page, f"{origin}/{name}")
            page.evaluate("document.fonts.ready.then(() => true)")
            shot = ARTIFACTS / f"{label}-{name.replace('/', '-')}.png"
            results[name], problem = font_on_page(page, session, name, blocked, shot)
            assert problem is None, problem
    context.close()
    return results


def test_fixture_book_draws_chinese_with_its_own_font_offline(browser, built_fixture_repo):
    results = check_book(browser, (built_fixture_repo / "_build" / "html").resolve(), "fixture")
    assert results["book/index.html"]["text"], "the fixture's summary page has CJK text"
    assert results["book/index.html"]["marked"] >= 2
    for name in ("notebooks/alpha.html", "notebooks/beta.html", "genindex.html"):
        assert name in results  # every page was opened (the fixture chapters are Latin-only)


def test_real_book_draws_chinese_with_its_own_font_offline(reader_visits):
    """The real book, built fresh from this checkout: summary, chapters, glossary and sources
    all carry CJK text drawn with the book's font (checked on every page in the shared visit,
    conftest's `reader_visits`)."""
    results = {name: visit["font"] for name, visit in reader_visits.items()}
    problems = {name: font["problem"] for name, font in results.items() if font["problem"]}
    assert not problems, "\n".join(problems.values())
    with_cjk = {name for name, probe in results.items() if probe["text"]}
    assert "book/summary.html" in with_cjk, "the summary quotes the page in Chinese"
    chapters = {name for name in results if name.startswith("notebooks/")}
    assert chapters & with_cjk, f"no chapter with Chinese text among {sorted(chapters)}"
    for name in ("book/glossary.html", "book/sources.html"):
        assert name in with_cjk, f"{name}: missing, or no Chinese text on it"
    # Every page with CJK text passed the font checks above; record which had none.
    print("pages without CJK text:", sorted(set(results) - with_cjk))
