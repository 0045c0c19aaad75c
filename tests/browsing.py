"""What the browser tests share: Debian's Chromium, a local server for a built book, and
the rule that nothing may come from another host."""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

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
