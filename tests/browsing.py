"""What the browser tests share: Debian's Chromium, a local server for a built book, the
rule that nothing may come from another host, and the check that Chinese text is drawn with
the book's own font."""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from cqbook.build import webfont

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium calls home at start, and this machine
# refuses those connections.
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# A glued value on a hand-written page, as the Markdown source writes it.
GLUE_ROLE = re.compile(r"\{glue:text\}`/notebooks/(\w+)\.ipynb::(\w+):s`")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args):
        pass


@contextmanager
def serve(folder: Path):
    """Serve `folder` on 127.0.0.1; yields the origin, e.g. http://127.0.0.1:41234."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def block_other_hosts(context, problems: Callable[[], list[str]]) -> None:
    """Let the pages of `context` load only from this machine (and data:, blob:, about:); a
    request to any other host is aborted and noted in `problems()`."""
    def offline_only(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob", "about") or url.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            problems().append(f"blocked request to another host: {route.request.url}")
            route.abort()

    context.route("**/*", offline_only)


def watch(page, problems: list[str] | Callable[[], list[str]]) -> None:
    """Note in `problems` (a list, or a function giving the list of the page now open) what a
    reader would see go wrong on `page`: console errors, uncaught exceptions, failed requests,
    HTTP errors."""
    found = problems if callable(problems) else lambda: problems
    page.on("console", lambda m: found().append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: found().append(f"uncaught exception: {e}"))
    page.on("requestfailed", lambda r: found().append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: found().append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)


def go_to(tab, url: str) -> None:
    """Open `url` in `tab`, a fresh document even when only its #fragment differs from the
    page open now (that would only scroll). The browser tests go from page to page in one
    tab, as a reader does: a new tab for each page starts a renderer process of its own,
    about 1.4 s of CPU a page more than a navigation."""
    if tab.url != "about:blank" and urldefrag(tab.url).url == urldefrag(url).url:
        tab.goto("about:blank")
    tab.goto(url, wait_until="load")


# --- the book's own font ----------------------------------------------------------------------

FONT_URL_PATH = f"/_static/fonts/{webfont.SUBSET_FILE}"

CJK_CLASS = "[" + "".join(
    f"\\u{{{start:x}}}-\\u{{{end:x}}}" for start, end in webfont.CJK_RANGES) + "]"

# Marks each visible element whose own text holds CJK (or only Latin letters) and returns
# what the page knows about the book's font.
PROBE_JS = """([cjkClass, family, fontPath]) => {
  const cjk = new RegExp(cjkClass, "gu"), anyCjk = new RegExp(cjkClass, "u");
  const ownText = (el) => [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
                                             .map(n => n.textContent).join("");
  let marked = 0, latin = 0, best = null;
  const all = new Set(), counts = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"].includes(el.tagName)) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const text = ownText(el);
    const found = text.match(cjk) || [];
    found.forEach(c => all.add(c));
    if (found.length) {
      el.setAttribute("data-cjk-probe", found.length); marked++; counts.push(found.length);
      if (!best || found.length > +best.getAttribute("data-cjk-probe")) best = el;
    }
    else if (/[A-Za-z]{3}/.test(text) && !anyCjk.test(el.textContent) && latin < 20) {
      el.setAttribute("data-latin-probe", ""); latin++;
    }
  }
  if (best) best.setAttribute("data-cjk-most", "");
  const text = [...all].join("");
  const faces = [...document.fonts].filter(f => f.family.replace(/"/g, "") === family);
  const resources = performance.getEntriesByType("resource").map(e => e.name)
                               .filter(n => new URL(n).pathname === fontPath);
  return {text, marked, counts,
          check: text ? document.fonts.check(`16px "${family}"`, text) : null,
          statuses: faces.map(f => f.status), resources};
}"""


def assert_drawn_with_book_font(page, session, name, probe, blocked):
    """Every element the probe marked drew its CJK text with the book's own font, loaded
    from the book's own files, and Latin-only text never used it."""
    where = f"{name} (blocked requests: {blocked or 'none'})"
    assert probe["check"] is True, f"{where}: document.fonts.check failed for {probe['text']}"
    assert probe["statuses"] == ["loaded"], f"{where}: font face status {probe['statuses']}"
    assert probe["resources"], f"{where}: the CJK font was not loaded from {FONT_URL_PATH}"
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in probe["resources"])
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    # One round trip per element (its HTML is asked for only to name it in a failure): the
    # real book marks about 3,600 elements. The probe's counts and the nodes found here are
    # both in document order.
    cjk = session.send("DOM.querySelectorAll", {"nodeId": root,
                                                "selector": "[data-cjk-probe]"})["nodeIds"]
    assert len(cjk) == len(probe["counts"]), f"{where}: {len(cjk)} of {len(probe['counts'])}"
    for node, wanted in zip(cjk, probe["counts"]):
        drawn, fonts = _drawn_with_book_font(session, node)
        assert drawn >= wanted, (f"{where}: {_html(session, node)!r} drew {drawn} of its "
                                 f"{wanted} CJK characters with the book's font; fonts used: "
                                 f"{fonts}")
    latin = session.send("DOM.querySelectorAll", {"nodeId": root,
                                                  "selector": "[data-latin-probe]"})["nodeIds"]
    for node in latin:
        drawn, _ = _drawn_with_book_font(session, node)
        assert drawn == 0, f"{where}: Latin text {_html(session, node)!r} used the CJK font"


def _drawn_with_book_font(session, node: int) -> tuple[int, list]:
    """How many glyphs of the element's text Chromium drew with the book's font, and every
    font it used."""
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return sum(f["glyphCount"] for f in fonts if f["isCustomFont"]
               and f["familyName"].startswith("Noto Sans CJK SC")), fonts


def _html(session, node: int) -> str:
    return session.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"][:160]


def font_on_page(page, session, name: str, blocked: list[str], shot: Path) -> tuple[dict, str | None]:
    """The probe of the page open in `page` (PROBE_JS), and what failed of
    `assert_drawn_with_book_font` (None: nothing). Where the page has CJK text, a screenshot
    (`shot`) and one of the element with the most of it (`shot`'s name, `-cjk`)."""
    probe = page.evaluate(PROBE_JS, [CJK_CLASS, webfont.FONT_FAMILY, FONT_URL_PATH])
    problem = None
    if probe["text"]:
        try:
            assert_drawn_with_book_font(page, session, name, probe, blocked)
        except AssertionError as failed:
            problem = str(failed)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shot)
        most = page.locator("[data-cjk-most]")
        most.scroll_into_view_if_needed()
        most.screenshot(path=shot.with_name(shot.stem + "-cjk.png"))
    return probe, problem
