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
from urllib.parse import urlsplit

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


def watch(page, problems: list[str]) -> None:
    """Note in `problems` what a reader would see go wrong on `page`: console errors, uncaught
    exceptions, failed requests, HTTP errors."""
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)
