"""The book for readers who use it differently: both colour modes, a screen reader, a keyboard.

Every page of the real book, in Chromium, offline, in light and in dark mode (the page
carries `data-theme`; the theme's switcher stores the choice in localStorage):
- axe-core (`axe-playwright-python`, which ships axe's script: nothing is fetched) reports no
  serious or critical violation (the rules that judge colour in both modes, the others once);
- the highlighted figures of the sources page and the text of the chapters' provenance boxes
  reach WCAG AA contrast (4.5:1), measured here from the computed colours;
- Chinese text is marked `lang="zh…"`, every table has header cells, and the Tab key reaches
  every link of the page's content.
A page costs about half a second to open, so each is opened once, all in one tab
(`browsing.go_to`), in the visit the book's other browser modules read too (conftest's
`reader_visits`, tests/page_visits.py): in light mode, the mode the book opens in, then
switched to dark mode with the theme's own button.
"""

from __future__ import annotations

import json

import pytest
import test_book_browser
from browsing import go_to
from page_visits import COLOUR_RULES, MACHINERY_PAGES, book_pages

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# The built book and its local server, as the other browser tests have them.
book_html = test_book_browser.book_html
origin = test_book_browser.origin

MODES = ("light", "dark")
AA = 4.5

# Contrast of each element's text with the colour behind it (the first opaque background up
# the tree; the theme's are opaque), WCAG 2 relative luminance.
CONTRAST_JS = """(selector) => {
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const behind = (el) => {
    for (let at = el; at; at = at.parentElement) {
      const colour = rgb(getComputedStyle(at).backgroundColor);
      if (colour.length < 4 || colour[3] === 1) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(selector)]
    .filter(el => el.checkVisibility() && [...el.childNodes].some(
      n => n.nodeType === Node.TEXT_NODE && n.textContent.trim()))
    .map(el => {
      const fg = luminance(rgb(getComputedStyle(el).color)), bg = luminance(behind(el));
      return {text: el.textContent.trim().slice(0, 30), tag: el.tagName,
              ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)};
    });
}"""


def _context(browser, mode: str):
    """A browser context whose pages open in `mode`, as the theme's switcher leaves them, and
    that fetches nothing from another host."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(f"localStorage.setItem('mode', '{mode}');"
                            f"localStorage.setItem('theme', '{mode}');")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1", "data:", "blob:")) else route.abort())
    return context


@pytest.fixture(scope="module", params=MODES)
def mode_context(request, browser):
    context = _context(browser, request.param)
    yield request.param, context
    context.close()


def open_page(tab, url: str, mode: str) -> None:
    go_to(tab, url)
    tab.evaluate("document.fonts.ready.then(() => true)")
    theme = tab.evaluate("document.documentElement.dataset.theme")
    assert theme == mode, f"{url}: the page is in {theme!r} mode, not {mode}"


@pytest.fixture(scope="module")
def light_visits(reader_visits):
    """Light mode, the mode the book opens in: the shared visit (conftest's
    `reader_visits`), which ran every axe rule and walked each page with the Tab key."""
    return reader_visits


@pytest.fixture(scope="module")
def dark_visits(reader_visits):
    """The same visit, each page switched to dark mode with the theme's button."""
    return {name: visit["dark"] for name, visit in reader_visits.items()}


@pytest.mark.parametrize("mode", MODES)
def test_axe_finds_no_serious_or_critical_violation_on_any_page(mode, request, book_html):
    visits, found = request.getfixturevalue(f"{mode}_visits"), {}
    assert len(visits) == len(book_pages(book_html)) + len(MACHINERY_PAGES)
    for name, visit in visits.items():
        assert visit["theme"] == mode, f"{name}: in {visit['theme']!r} mode, not {mode}"
        response = visit["axe"]
        ran = {rule["id"] for kind in ("violations", "passes", "incomplete", "inapplicable")
               for rule in response[kind]}
        assert COLOUR_RULES <= ran, f"{name} ({mode}): axe did not run {COLOUR_RULES - ran}"
        serious = [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:100]}"
                   for v in response["violations"] if v["impact"] in ("serious", "critical")]
        if serious:
            found[name] = serious
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def test_highlighted_figures_and_provenance_boxes_reach_aa_contrast(mode_context, origin):
    mode, context = mode_context
    tab = context.new_page()
    try:
        open_page(tab, f"{origin}/book/sources.html#yongchuan_vehicles_shipped", mode)
        measured = {
            "sources: figures": tab.evaluate(CONTRAST_JS, "mark.cq-figure"),
            # the figure a chapter's Source link lands on has a highlight of its own
            "sources: linked figure": tab.evaluate(CONTRAST_JS,
                                                   "mark.cq-figure:has(.cq-anchor:target)")}
        open_page(tab, f"{origin}/notebooks/yongchuan.html", mode)
        measured["chapter: provenance box"] = tab.evaluate(CONTRAST_JS, ".cq-provenance *")
    finally:
        tab.close()
    assert len(measured["sources: figures"]) >= 40
    assert len(measured["sources: linked figure"]) == 1
    assert len(measured["chapter: provenance box"]) >= 5
    low = {where: [m for m in found if m["ratio"] < AA] for where, found in measured.items()}
    assert not any(low.values()), json.dumps(low, indent=1, ensure_ascii=False)


def test_chinese_text_is_marked_as_chinese(light_visits, book_html):
    pages = book_pages(book_html)
    unmarked = {name: found[:5] + ([f"... {len(found)} in all"] if len(found) > 5 else [])
                for name in pages if (found := light_visits[name]["chinese without lang"])}
    assert not unmarked, json.dumps(unmarked, indent=1, ensure_ascii=False)


def test_every_table_has_header_cells_and_tab_reaches_every_content_link(light_visits,
                                                                         book_html):
    problems = {}
    for name in book_pages(book_html):
        visit = light_visits[name]
        if visit["tables without headers"] or visit["links Tab never reached"]:
            problems[name] = {key: visit[key][:10] for key in
                              ("tables without headers", "links Tab never reached")}
    assert sum(len(light_visits[name]["links"]) for name in book_pages(book_html)) >= 50
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def test_chinese_runs_are_wrapped_but_markup_scripts_and_marked_passages_are_not():
    from cqbook.build.html_lang import mark_chinese

    body = ('<p title="铜梁">shipped 已发运汽车12702辆,目的地 and 206 亿元.</p>'
            '<div lang="zh-Hans">永川<b>造</b></div><script>const a = "永川";</script>'
            '<pre><span class="s2">&quot;成渝地区&quot;</span></pre><!-- 注释 -->')
    assert mark_chinese(body) == (
        '<p title="铜梁">shipped <span lang="zh-Hans">已发运汽车12702辆,目的地</span> and 206 '
        '<span lang="zh-Hans">亿元</span>.</p>'
        '<div lang="zh-Hans">永川<b>造</b></div><script>const a = "永川";</script>'
        '<pre><span class="s2">&quot;<span lang="zh-Hans">成渝地区</span>&quot;</span></pre>'
        "<!-- 注释 -->")
