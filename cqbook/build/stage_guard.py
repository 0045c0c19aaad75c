"""A Sphinx extension that refuses to build the book anywhere but in a stage of the pipeline.

`jupyter-book build .` at the repository root would build from the *unexecuted* notebooks
(execution is off: the pipeline executes them) and write through the `_build/html` link into
the published book: blank glued values, no provenance boxes. `_config.yml` loads this
extension first, so it stops Sphinx in its set-up, before Sphinx makes or writes any output
folder. Only stdlib and Sphinx are imported: a fresh clone with nothing but jupyter-book
installed gets the same message.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Written by cqbook.build.publishing.stage_sources into every stage it lays out.
STAGE_MARKER = ".cqbook-stage"


def setup(app):
    if not (Path(app.srcdir) / STAGE_MARKER).is_file():
        # SystemExit, not a Sphinx error: jupyter-book turns any error into a page of
        # traceback, and this is a refusal, not a crash.
        print(f"error: {app.srcdir} is not a book stage made by the pipeline. This book is "
              "built from executed notebooks; `jupyter-book build` on its sources would publish "
              "a book without results. Run `make book` (or `python -m cqbook build`) instead. "
              "Nothing was written.", file=sys.stderr)
        raise SystemExit(2)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
