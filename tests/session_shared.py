"""What a test session makes once and every xdist worker reads: the real book built, a
chapter's run. The first worker to ask makes it; the others wait for it (a `flock`, as the
build's own lock) rather than make it again, so tests that only read it need not share a
worker."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path


def made_once(tmp_path_factory, name: str, make: Callable[[Path], Path]) -> Path:
    """`make(folder)` run once in this test session, in a folder named `name` in the
    session's temporary folder; the path it returned, to every later caller of any worker.
    A `make` that failed (raised) is tried again by the next caller."""
    folder = session_folder(tmp_path_factory) / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        made = folder / "made.txt"  # written last
        if not made.exists():
            made.write_text(str(make(folder)), encoding="utf-8")
        return Path(made.read_text(encoding="utf-8"))


def session_folder(tmp_path_factory) -> Path:
    """This test session's temporary folder, shared by its xdist workers (each has a base
    folder of its own in it), never by another session."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
