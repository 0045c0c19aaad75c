"""The book for readers who use it differently: both colour modes, a screen reader, a keyboard.

Every page of the real book, in Chromium, offline, in light and in dark mode (the theme's
switcher stores the choice in localStorage; the page then carries `data-theme`):
- axe-core (`axe-playwright-python`, which ships axe's script: nothing is fetched) reports no
  serious or critical violation (the rules that judge colour in both modes, the others once);
- the highlighted figures of the sources page and the text of the chapters' provenance boxes
  reach WCAG AA contrast (4.5:1), measured here from the computed colours;
- Chinese text is marked `lang="zh…"`, every table has header cells, and the Tab key reaches
  every link of the page's content.
A page costs about a second to open, so each is opened once per mode, all in one tab
(`browsing.go_to`), and every check of that mode reads the same visit (`light_visits`,
`dark_visits`).
"""

from __future__ import annotations

import json

import pytest
import test_book_browser
from axe_playwright_python.sync_playwright import Axe
from browsing import go_to
from test_book_browser import book_pages

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

CJK_WITHOUT_LANG_JS = r"""() => {
  const cjk = /[\u3400-\u9fff\uf900-\ufaff]/u, found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode, el = text.parentElement;
    if (!cjk.test(text.textContent) || ["SCRIPT", "STYLE", "TITLE"].includes(el.tagName)
        || !el.checkVisibility()) continue;
    if (!(el.closest("[lang]")?.getAttribute("lang") || "").startsWith("zh"))
      found.push(`${el.tagName}: ${text.textContent.trim().slice(0, 40)}`);
  }
  return found;
}"""

TABLES_WITHOUT_HEADERS_JS = """() => [...document.querySelectorAll("main table")]
  .filter(t => !t.querySelector("th")).map(t => t.outerHTML.slice(0, 80))"""

# Links a reader sees; a heading's permalink is `visibility: hidden` until hovered, so neither
# seen nor reachable, as the theme intends.
CONTENT_LINKS_JS = """() => [...document.querySelectorAll("main a[href]")]
  .filter(a => a.checkVisibility({visibilityProperty: true}) && a.getClientRects().length)
  .map(a => a.getAttribute("href"))"""


# Every href that keyboard focus lands on inside the page's content, as it happens.
RECORD_FOCUS_JS = """() => {
  window.cqReached = new Set();
  document.addEventListener("focusin", (event) => {
    const href = event.target.closest("main") ? event.target.getAttribute("href") : null;
    if (href !== null) window.cqReached.add(href);
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


# The colour mode changes colours only: the rules that judge colour run in both modes, every
# other rule (structure, names, roles, which read the same markup) once, in light mode. The
# colour rules are most of axe's time (dark mode alone still took 145 s of light's 140 s).
COLOUR_RULES = {"color-contrast", "link-in-text-block"}
AXE_OPTIONS = {"light": {"resultTypes": ["violations"]},
               "dark": {"resultTypes": ["violations"],
                        "runOnly": {"type": "rule", "values": sorted(COLOUR_RULES)}}}


def tab_walk(page) -> dict[str, list[str]]:
    """The content links a reader sees, and those the Tab key never reached from the top."""
    links = set(page.evaluate(CONTENT_LINKS_JS))
    page.evaluate(RECORD_FOCUS_JS)
    reached, presses, budget = set(), 0, len(links) * 2 + 150  # sidebars' links first
    while presses < budget and not links <= reached:
        for _ in range(min(20, budget - presses)):  # one round trip per 20 presses
            page.keyboard.press("Tab")
            presses += 1
        reached = set(page.evaluate("() => [...window.cqReached]"))
    return {"links": sorted(links), "links Tab never reached": sorted(links - reached)}


def _visit_every_page(browser, origin: str, book_html, mode: str) -> dict:
    """Each page opened once in `mode`: axe's report, and in light mode what does not depend
    on the mode, measured after axe so that axe sees the page as loaded (the Tab walk moves
    the focus, whose outline axe would judge too). A page costs about a second to open, so
    every light-mode check shares one opening, and every page opens in the same tab."""
    context, axe, visits = _context(browser, mode), Axe(), {}
    try:
        tab = context.new_page()
        for name in book_pages(book_html) + ["search.html"]:
            open_page(tab, f"{origin}/{name}", mode)
            visits[name] = {"axe": axe.run(tab, options=AXE_OPTIONS[mode]).response}
            if mode == "light":
                visits[name].update({
                    "chinese without lang": tab.evaluate(CJK_WITHOUT_LANG_JS),
                    "tables without headers": tab.evaluate(TABLES_WITHOUT_HEADERS_JS),
                    **tab_walk(tab)})
    finally:
        context.close()
    return visits


@pytest.fixture(scope="module")
def light_visits(browser, origin, book_html):
    return _visit_every_page(browser, origin, book_html, "light")


@pytest.fixture(scope="module")
def dark_visits(browser, origin, book_html):
    return _visit_every_page(browser, origin, book_html, "dark")


@pytest.mark.parametrize("mode", MODES)
def test_axe_finds_no_serious_or_critical_violation_on_any_page(mode, request, book_html):
    visits, found = request.getfixturevalue(f"{mode}_visits"), {}
    assert len(visits) == len(book_pages(book_html)) + 1
    for name, visit in visits.items():
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
