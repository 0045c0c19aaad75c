"""`diff`: what a change does to the report's numbers and charts, as a plain-text table.

Compares the committed results files (headline values, chart hashes) of the working tree
with those of a git revision — by default the merge base with `main`.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from cqbook import results
from cqbook.paths import REPO_ROOT


@dataclass(frozen=True)
class Change:
    kind: str  # changed | added | removed
    notebook: str
    name: str
    old: str
    new: str
    relative: str = ""


def _git(*arguments: str) -> str:
    completed = subprocess.run(["git", *arguments], cwd=REPO_ROOT, capture_output=True,
                               text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(arguments)}: {completed.stderr.strip()}")
    return completed.stdout


def default_revision() -> str:
    try:
        return _git("merge-base", "HEAD", "main").strip()
    except RuntimeError:
        return "HEAD"


def file_at(revision: str, path) -> str:
    relative = path.relative_to(REPO_ROOT).as_posix()
    try:
        return _git("show", f"{revision}:{relative}")
    except RuntimeError as error:
        if "does not exist" in str(error) or "exists on disk, but not in" in str(error):
            return ""
        raise


def _relative_change(old: str, new: str) -> str:
    try:
        old_value, new_value = json.loads(old), json.loads(new)
    except (TypeError, ValueError):
        return ""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                  for v in (old_value, new_value))
    if not numeric or old_value == 0:
        return ""
    return f"{(new_value - old_value) / abs(old_value):+.1%}"


def compare(old_rows, new_rows, key_columns, value_column, shown_column) -> list[Change]:
    old = {tuple(r.get(c, "") for c in key_columns): r for r in old_rows}
    new = {tuple(r.get(c, "") for c in key_columns): r for r in new_rows}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before and after and before[value_column] == after[value_column]:
            continue
        kind = "added" if before is None else "removed" if after is None else "changed"
        name = key[1] + (" (parameter)" if key[2:] == ("parameter",) else "")
        changes.append(Change(
            kind, key[0], name, before[shown_column] if before else "",
            after[shown_column] if after else "",
            _relative_change(before["value"], after["value"])
            if kind == "changed" and "value" in before else ""))
    return changes


def diff(revision: str | None = None) -> tuple[str, bool]:
    revision = revision or default_revision()
    headline_changes = compare(
        results.read_csv_text(file_at(revision, results.HEADLINES_CSV)),
        results.read_csv_text(_working(results.HEADLINES_CSV)),
        ("notebook", "name", "kind"), "text", "text")
    figure_changes = compare(
        results.read_csv_text(file_at(revision, results.FIGURES_CSV)),
        results.read_csv_text(_working(results.FIGURES_CSV)),
        ("notebook", "figure"), "sha256", "sha256")
    lines = [f"Compared with {revision[:12]}:"]
    lines += _table("Headline values", headline_changes, shorten=False)
    lines += _table("Charts (content hash)", figure_changes, shorten=True)
    changed = bool(headline_changes or figure_changes)
    if not changed:
        lines.append("No headline value or chart changed.")
    return "\n".join(lines), changed


def _working(path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _table(title: str, changes: list[Change], shorten: bool) -> list[str]:
    if not changes:
        return []
    def show(text: str) -> str:
        return text[:12] if shorten and text else (text or "—")
    rows = [(c.kind, f"{c.notebook}:{c.name}", f"{show(c.old)} → {show(c.new)}", c.relative)
            for c in changes]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{title}: {len(changes)}"]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
              for r in rows]
    return lines
