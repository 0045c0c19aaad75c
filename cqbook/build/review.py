"""`review`: one page showing what a change does to the book — the changed values as a table,
and every changed chart old and new, side by side.

The values come from the committed results files (diff.changes). The old charts come from the
base revision executed in its own git worktree (`_build/review-base/worktree`), by that
revision's own `python -m cqbook build`: the working tree and the published book are never
touched, and the worktree's `_build` (its execution cache) is kept between runs, so a base
seen before executes nothing. The base is built only when a chart changed.

The page is one HTML file with the charts inlined as data: URIs and the book's CJK font
subset beside it (webfont.py): it reads offline, from a CI artifact as from a laptop.
"""

from __future__ import annotations

import base64
import fcntl
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cqbook.build import diff, results, webfont
from cqbook.build.diff import Changes, ChartChange, DiffError, ValueChange
from cqbook.paths import BUILD_DIR, REPO_ROOT

REVIEW_DIR = BUILD_DIR / "review"
BASE_DIR = BUILD_DIR / "review-base"
WORKTREE = BASE_DIR / "worktree"
BASE_LOG = BASE_DIR / "build.log"
BASE_STAMP = BASE_DIR / "built.json"  # the base commit whose executed notebooks are there
# Where a build leaves its executed notebooks, relative to its checkout (pipeline.EXECUTED_DIR).
EXECUTED = Path("_build") / "executed"
FONT_CACHE = BUILD_DIR / "cache" / "webfont"
MIME = {"svg": "image/svg+xml", "png": "image/png"}

Images = dict[tuple[str, str], results.FigureOutput]  # (notebook, figure) -> image


def review(revision: str | None = None) -> tuple[Path, bool]:
    """Write the review page; return its path and whether anything changed."""
    base = diff.resolve_base(revision)
    _build(REPO_ROOT, "the working tree")
    found = diff.changes(base=base)
    new_images = images(REPO_ROOT / EXECUTED)
    old_images = images(base_build(base.commit)) if found.charts else {}
    return write_page(found, old_images, new_images), bool(found)


def _build(checkout: Path, what: str, log: Path | None = None) -> None:
    """That checkout's own build, with its own package first on the path. Its messages go to
    `log`, else to stderr: stdout is the page's path alone."""
    with open(log, "w", encoding="utf-8") if log else open(os.devnull) as handle:
        completed = subprocess.run([sys.executable, "-m", "cqbook", "build"], cwd=checkout,
                                   env={**os.environ, "PYTHONPATH": str(checkout)},
                                   stdout=handle if log else sys.stderr,
                                   stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        where = f"; its messages: {log}" if log else " (its messages are above)"
        raise DiffError(f"{what} did not build (exit {completed.returncode}){where}")


def base_build(commit: str) -> Path:
    """The executed notebooks of `commit`, built in the review worktree (once per commit)."""
    BASE_DIR.mkdir(parents=True, exist_ok=True)
    with open(BASE_DIR / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two reviews must not check out under each other
        executed = WORKTREE / EXECUTED
        try:
            built = json.loads(BASE_STAMP.read_text(encoding="utf-8"))["commit"]
        except (FileNotFoundError, KeyError, ValueError):
            built = None
        if built == commit and executed.is_dir() and _worktree_commit() == commit:
            return executed
        BASE_STAMP.unlink(missing_ok=True)
        _check_out(commit)
        _build(WORKTREE, f"the base {commit[:12]}", BASE_LOG)
        BASE_STAMP.write_text(json.dumps({"commit": commit}), encoding="utf-8")
        return executed


def _worktree_commit() -> str | None:
    if not (WORKTREE / ".git").is_file():
        return None
    head = diff.git("rev-parse", "HEAD", repo=WORKTREE)
    return head.stdout.strip() if head.returncode == 0 else None


def _check_out(commit: str) -> None:
    """Move the worktree to `commit`, keeping its ignored `_build` (the execution cache)."""
    if _worktree_commit() is not None:
        moved = diff.git("checkout", "--quiet", "--force", "--detach", commit, repo=WORKTREE)
    else:
        # A worktree git no longer knows (a CI cache restored into a fresh clone) is made
        # again, around its `_build`: the execution cache is what the CI cache is for.
        kept = BASE_DIR / "_build-kept"
        shutil.rmtree(kept, ignore_errors=True)
        if (WORKTREE / "_build").is_dir():
            (WORKTREE / "_build").rename(kept)
        shutil.rmtree(WORKTREE, ignore_errors=True)
        diff.git("worktree", "prune")
        moved = diff.git("worktree", "add", "--quiet", "--force", "--detach", str(WORKTREE),
                         commit)
        if moved.returncode == 0 and kept.is_dir():
            kept.rename(WORKTREE / "_build")
        elif moved.returncode == 0:
            _seed_cache()
    if moved.returncode != 0:
        raise DiffError(f"cannot check out {commit[:12]} into {WORKTREE}: "
                        f"{moved.stderr.strip().splitlines()[-1:]}")


def _seed_cache() -> None:
    """Start a new worktree with this checkout's execution cache: the keys are digests of the
    inputs, so a notebook the change did not touch is not executed again for the base, and
    one it touched simply misses."""
    for folder in ("cache", "executed"):
        source = BUILD_DIR / folder
        if source.is_dir():
            shutil.copytree(source, WORKTREE / "_build" / folder, dirs_exist_ok=True)


def images(executed: Path) -> Images:
    """Every chart of the executed notebooks in `executed`, by (notebook, figure name)."""
    import nbformat

    found: Images = {}
    for path in sorted(executed.glob("*.ipynb")):
        try:
            notebook = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as error:
            raise DiffError(f"cannot read the executed notebook {path}: {error}") from None
        for output in results.figure_outputs(notebook):
            found[(path.stem, output.figure)] = output
    return found


# --- the page ---------------------------------------------------------------------------

def write_page(found: Changes, old_images: Images, new_images: Images) -> Path:
    staging = BUILD_DIR / ".review-new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "index.html").write_text(page(found, old_images, new_images), encoding="utf-8")
    # The book's CJK font, subset to this page's characters (cached like the book's).
    webfont.embed_cjk_font(staging, FONT_CACHE, lambda message: print(message, file=sys.stderr))
    shutil.rmtree(REVIEW_DIR, ignore_errors=True)
    staging.rename(REVIEW_DIR)
    return REVIEW_DIR / "index.html"


STYLE = f"""
body {{ font-family: "{webfont.FONT_FAMILY}", system-ui, -apple-system, "Segoe UI",
  "Noto Sans", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 96rem;
  padding: 0 1rem; color: #1f2328; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left;
  vertical-align: top; }}
th {{ background: #f6f8fa; }}
td.number {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.value {{ white-space: nowrap; }}
.scroll {{ overflow-x: auto; }}
p.caption {{ margin-top: -.5rem; color: #59636e; }}
tr.added td {{ background: #e6ffec; }}
tr.removed td {{ background: #ffebe9; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
figure {{ margin: 0; border: 1px solid #d0d7de; padding: .5rem; }}
figure img {{ max-width: 100%; height: auto; display: block; background: #fff; }}
figcaption {{ font-weight: 600; margin-bottom: .4rem; }}
.chart {{ margin: 1.5rem 0 2.5rem; }}
.note {{ color: #59636e; }}
code {{ font-size: .9em; }}
"""


def page(found: Changes, old_images: Images, new_images: Images) -> str:
    e = html.escape
    head = diff.heading(found)
    parts = ["<!DOCTYPE html>", '<html lang="zh-Hans">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>Review: {e(head)}</title>",
             f'<link rel="stylesheet" href="{e(webfont.STYLESHEET.as_posix())}">',
             f"<style>{STYLE}</style>", "</head>", "<body>",
             "<h1>What this change does to the book</h1>",
             (f'<p id="base">{e(head)}: {len(found.values)} value(s) and parameter(s), '
             f"{len(found.charts)} chart(s) changed.</p>")]
    if not found:
        parts.append('<p id="nothing">No headline value, parameter or chart changed.</p>')
    if found.values:
        parts += _values_table(found.values)
    if found.charts:
        parts += [f'<h2 id="charts">Charts ({len(found.charts)})</h2>']
        for change in found.charts:
            parts += _chart(change, found.base.commit, old_images, new_images)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _values_table(values: list[ValueChange]) -> list[str]:
    e = html.escape
    rows = [('<h2 id="values">Headline values and parameters '
            f"({len(values)})</h2>"), '<div class="scroll"><table id="changed-values">',
            ("<thead><tr><th>notebook</th><th>name</th><th>old</th><th>new</th><th>Δ</th>"
            "<th>relative</th><th>as printed, old</th><th>as printed, new</th>"
            "<th>what changed</th></tr></thead>"), "<tbody>"]
    for change in values:
        values = [diff.shown_value(change.old), diff.shown_value(change.new)]
        printed = [row["text"] if row else "—" for row in (change.old, change.new)]
        rows.append(
            f'<tr class="{e(change.kind)}"><td>{e(change.notebook)}</td>'
            f"<td>{e(change.label)}</td>"
            + "".join(f'<td class="value">{e(value)}</td>' for value in values)
            + f'<td class="number">{e(diff.shown_absolute(change))}</td>'
            + f'<td class="number">{e(diff.shown_relative(change))}</td>'
            + "".join(f'<td class="value">{e(text)}</td>' for text in printed)
            + f"<td>{e(diff.shown_fields(change))}</td></tr>")
    return [*rows, "</tbody>", "</table></div>"]


def _chart(change: ChartChange, base_commit: str, old_images: Images,
           new_images: Images) -> list[str]:
    e = html.escape
    key = (change.notebook, change.figure)
    sides = []
    if change.old:
        sides.append(("old", f"old (base {base_commit[:12]})", old_images.get(key), change.old))
    if change.new:
        sides.append(("new", "new (this tree)", new_images.get(key), change.new))
    shown = next((image for _, _, image, _ in reversed(sides) if image), None)
    caption = (f'<p class="caption">{e(shown.caption)}</p>' if shown and shown.caption
               else "")
    parts = [(f'<section class="chart {e(change.kind)}" data-notebook="{e(change.notebook)}" '
             f'data-figure="{e(change.figure)}">'),
             (f"<h3>{e(change.notebook)} · <code>{e(change.figure)}</code> "
             f"({e(change.kind)})</h3>{caption}"), '<div class="pair">']
    for side, title, image, row in sides:
        parts.append(f'<figure class="{side}"><figcaption>{e(title)}</figcaption>')
        if image is None:
            parts.append(f'<p class="note">No image named {e(change.figure)} in the executed '
                         "notebook.</p>")
        else:
            alt = f"{side}: {image.alt or change.figure}"
            parts.append(f'<img src="{_data_uri(image)}" alt="{e(alt)}">')
            if results.content_hash(image.content) != row["sha256"]:
                parts.append('<p class="note">This image differs from the hash in its '
                             "results/figure_hashes.csv: that file is out of date at this "
                             "revision.</p>")
        parts.append("</figure>")
    return [*parts, "</div>", "</section>"]


def _data_uri(image: results.FigureOutput) -> str:
    if image.format == "svg":
        payload = base64.b64encode(image.content.encode("utf-8")).decode("ascii")
    else:  # notebooks store PNGs as base64 already, possibly broken over lines
        payload = "".join(image.content.split())
    return f"data:{MIME[image.format]};base64,{payload}"
