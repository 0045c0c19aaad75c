"""One reader's visit of every page of the real book, shared by the browser modules that read
the book as it is shown (`reader_visits` in conftest.py: the book, its Chinese edition, its
accessibility and its font).

Each page is opened once, in the mode the book opens in (light), from a local server with
every other host blocked, and everything those modules check is read from that opening:
what went wrong (console errors, failed or blocked requests), images and inline SVGs, the
text, what the page shows of its glued values, tables and charts, a full-page screenshot
(`test-artifacts/book/`), axe's report, the keyboard's walk, the font each element's Chinese
text was drawn with, and axe's colour rules again once the reader has switched the page to
dark mode. Opening a page costs about half a second of Chromium, and a full-page screenshot
as much again: four modules opening every page each (one of them twice, once per mode), and
two of them shooting the Chinese pages, was a quarter of the suite's browser time.
"""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from browsing import block_other_hosts, font_on_page, go_to, watch

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "book"
FONT_ARTIFACTS = REPO / "test-artifacts" / "webfont"
SKIPPED_PAGES = {"genindex.html", "search.html"}
# Opened too, though no reader's page: the index and search machinery.
MACHINERY_PAGES = ["genindex.html", "search.html"]


def book_pages(html_dir: Path) -> list[str]:
    """Every page a reader can open (not the index/search machinery, not redirects)."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        relative = path.relative_to(html_dir).as_posix()
        if relative.startswith(("_static/", "_sources/", "_images/")) or \
                relative in SKIPPED_PAGES:
            continue
        if 'http-equiv="refresh"' in path.read_text(encoding="utf-8").lower():
            continue  # index.html: a redirect to the summary, which is opened itself
        pages.append(relative)
    return pages


# What a page knows about its images and inline SVGs after it has loaded.
IMAGES_JS = """() => {
  const images = [...document.images].map(img => ({
    src: img.currentSrc || img.src, alt: (img.getAttribute("alt") || "").trim(),
    loaded: img.complete && img.naturalWidth > 0}));
  const svgs = [...document.querySelectorAll("svg")]
    .filter(svg => !svg.parentElement.closest("svg"))
    .map(svg => ({
      html: svg.outerHTML.slice(0, 120),
      hidden: svg.getAttribute("aria-hidden") === "true" || !svg.checkVisibility(),
      label: (svg.getAttribute("aria-label") || svg.querySelector("title")?.textContent
              || "").trim(),
      drawn: svg.getBoundingClientRect().width > 0}));
  return {images, svgs};
}"""

# What a page shows: glued values, cell outputs (tables), chart files, the header link.
SHOWN_JS = r"""() => ({
  pasted: [...document.querySelectorAll("main .pasted-text")].map(e => e.textContent),
  outputs: [...document.querySelectorAll("main .cell_output")].map(e => {
    const copy = e.cloneNode(true);  // a chart's caption is prose, translated
    copy.querySelectorAll("figcaption").forEach(c => c.remove());
    return copy.textContent.replace(/\s+/g, " ").trim();}),
  charts: [...document.querySelectorAll("main img")].map(i => new URL(i.src).pathname
                                                          .split("/").pop()),
  switch: document.querySelector("a.cq-edition-switch")?.href || null,
  lang: document.documentElement.lang,
  text: document.querySelector("main")?.innerText || ""})"""

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


def screenshot_name(name: str) -> str:
    return f"{name.replace('/', '-')[:-5]}.png"


def _book_font(tab, session, name: str, problems: list[str]) -> dict:
    """The page's CJK text, and whether each element holding it drew it with the book's own
    font (`browsing.font_on_page`: `problem`, what failed, or None), with its screenshots in
    `test-artifacts/webfont/`. The probe marks the elements it counts."""
    blocked = [problem for problem in problems if problem.startswith("blocked")]
    probe, problem = font_on_page(tab, session, name, blocked,
                                  FONT_ARTIFACTS / f"book-{screenshot_name(name)}")
    tab.evaluate("window.scrollTo(0, 0)")
    return {**probe, "problem": problem}


def _in_dark_mode(tab, axe) -> dict:
    """The page switched to dark mode as a reader switches it (the theme's button: light,
    auto, dark), with the focus and the pointer where a page just opened has them, and axe's
    colour rules run on it. The choice is then forgotten, so that the next page opens in the
    book's own mode."""
    switch = tab.locator("button.theme-switch-button").first
    for _ in range(3):
        if tab.evaluate("document.documentElement.dataset.theme") == "dark":
            break
        switch.click()
    tab.evaluate("document.activeElement?.blur()")
    tab.mouse.move(0, 0)
    # The theme fades some colours from one mode to the other: axe judges them once settled.
    tab.evaluate("Promise.race([Promise.all(document.getAnimations().map(a => a.finished)),"
                 " new Promise(done => setTimeout(done, 2000))]).then(() => true)")
    result = {"theme": tab.evaluate("document.documentElement.dataset.theme"),
              "axe": axe.run(tab, options=AXE_OPTIONS["dark"]).response}
    tab.evaluate("localStorage.removeItem('mode'); localStorage.removeItem('theme')")
    return result


def visit_every_page(browser, origin: str, html_dir: Path) -> dict[str, dict]:
    """Each page of the book (and the index and search pages) opened once, in light mode; for
    each, what the browser modules check. The page is read as loaded first, its screenshot
    taken, then axe run (so that it judges no focus outline), then the Tab walk, which moves
    the focus, then the book's font checked (`font`), and last the page switched to dark mode
    for axe's colour rules (`dark`)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    current: dict[str, list[str]] = {}
    block_other_hosts(context, lambda: current["problems"])
    axe, visits = Axe(), {}
    try:
        tab = context.new_page()
        session = context.new_cdp_session(tab)
        watch(tab, lambda: current["problems"])
        for name in book_pages(html_dir) + MACHINERY_PAGES:
            current["problems"] = problems = []
            go_to(tab, f"{origin}/{name}")
            tab.wait_for_load_state("networkidle")
            tab.evaluate("document.fonts.ready.then(() => true)")
            visit = {"theme": tab.evaluate("document.documentElement.dataset.theme"),
                     "text": tab.inner_text("main") if tab.locator("main").count() else "",
                     "shown": tab.evaluate(SHOWN_JS), **tab.evaluate(IMAGES_JS)}
            tab.screenshot(path=ARTIFACTS / screenshot_name(name), full_page=True)
            # What went wrong for the reader. Not axe's own requests: it fetches style sheets
            # again to read their rules, and resolves theme.css's `@import "../basic.css"`
            # from the page rather than from the sheet (a 404 no reader's browser asks for).
            visit["problems"] = list(problems)
            visit["axe"] = axe.run(tab, options=AXE_OPTIONS["light"]).response
            visit["chinese without lang"] = tab.evaluate(CJK_WITHOUT_LANG_JS)
            visit["tables without headers"] = tab.evaluate(TABLES_WITHOUT_HEADERS_JS)
            visit.update(tab_walk(tab))
            tab.evaluate("document.activeElement?.blur()")
            visit["font"] = _book_font(tab, session, name, problems)
            visit["dark"] = _in_dark_mode(tab, axe)
            visits[name] = visit
    finally:
        context.close()
    return visits
