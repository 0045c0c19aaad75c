"""What the browser tests share: Debian's Chromium, a local server for a built book, and
the rule that nothing may come from another host."""

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
