"""`diff`: what a change does to the report's numbers and charts.

Compares the committed results files of the working tree (headline values and parameters,
chart hashes), and the lists the chapters count (data/lists.csv), with those of a base revision: `--base REV`, else the merge base of HEAD with
`origin/main`, else with `main`. Values are compared as values — the number (to the
precision results.py writes), the unit, the bound — so a change below the display rounding
still shows; the printed text and the label are compared too, as text.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from cqbook.build import results
from cqbook.dataset.units import SYMBOL
from cqbook.paths import DATA_DIR, REPO_ROOT

# Tried in this order when no base is named: a pull-request checkout usually has only the
# remote branch, a laptop often only the local one.
DEFAULT_BASES = ("origin/main", "main")
VALUE_FIELDS = ("value", "unit", "bound", "text", "label")
MARKER = "<!-- cqbook-diff -->"  # finds the sticky pull-request comment to update
# What the chapters count off the page: a list whose items change moves a count the book
# prints, even when no chapter's result changes with it.
LISTS_CSV = DATA_DIR / "lists.csv"
LIST_FIELDS = ("article_id", "quote", "items", "ends_with_deng")


class DiffError(RuntimeError):
    """A diff that cannot be made (no git, no base, unreadable results): one line, exit 2."""


@dataclass(frozen=True)
class Base:
    commit: str
    description: str  # what the user named, or how the base was found


@dataclass(frozen=True)
class ValueChange:
    kind: str  # changed | added | removed
    notebook: str
    name: str
    row_kind: str  # headline | parameter
    old: dict[str, str] | None
    new: dict[str, str] | None
    fields: tuple[str, ...] = ()  # what changed, among VALUE_FIELDS
    absolute: Decimal | None = None
    relative: float | None = None

    @property
    def label(self) -> str:
        return self.name + (" (parameter)" if self.row_kind == "parameter" else "")


@dataclass(frozen=True)
class ChartChange:
    kind: str  # changed | added | removed
    notebook: str
    figure: str
    old: dict[str, str] | None
    new: dict[str, str] | None


@dataclass(frozen=True)
class ListChange:
    kind: str  # changed | added | removed
    list_id: str
    old: dict[str, str] | None
    new: dict[str, str] | None
    fields: tuple[str, ...] = ()  # what changed, among LIST_FIELDS


@dataclass
class Changes:
    base: Base
    values: list[ValueChange] = field(default_factory=list)
    charts: list[ChartChange] = field(default_factory=list)
    lists: list[ListChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.values or self.charts or self.lists)


# --- git --------------------------------------------------------------------------------

def git(*arguments: str, repo: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *arguments], cwd=repo, capture_output=True, text=True,
                              check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed; diff compares with a git revision") from None


def _commit_of(revision: str) -> str | None:
    found = git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    return found.stdout.strip() if found.returncode == 0 else None


def resolve_base(revision: str | None = None) -> Base:
    """The commit to compare with; DiffError when there is none, saying how to name one."""
    inside = git("rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise DiffError(f"{REPO_ROOT} is not a git checkout; diff compares the results "
                        "with a git revision")
    if _commit_of("HEAD") is None:
        raise DiffError("this checkout has no commit yet: commit once, then diff")
    if revision:
        commit = _commit_of(revision)
        if commit is None:
            raise DiffError(f"unknown revision {revision!r}: name a branch, tag or commit "
                            "that exists here (git fetch it first if it is remote)")
        return Base(commit, revision)
    for candidate in DEFAULT_BASES:
        if _commit_of(candidate) is None:
            continue
        merge_base = git("merge-base", "HEAD", candidate)
        if merge_base.returncode == 0:
            return Base(merge_base.stdout.strip(), f"merge base with {candidate}")
    raise DiffError(f"no base to compare with: neither {' nor '.join(DEFAULT_BASES)} shares "
                    "history with HEAD; name one with --base REV (e.g. --base HEAD~1)")


def _text_at(commit: str, path: Path) -> str:
    """The file at the commit; empty when it did not exist then (everything is added)."""
    # `./`: relative to this checkout, which need not be the top of the git repository.
    relative = "./" + path.relative_to(REPO_ROOT).as_posix()
    if git("cat-file", "-e", f"{commit}:{relative}").returncode != 0:
        return ""
    shown = git("show", f"{commit}:{relative}")
    if shown.returncode != 0:
        raise DiffError(f"cannot read {relative} at {commit[:12]}: {shown.stderr.strip()}")
    return shown.stdout


def _working_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DiffError(f"{path.relative_to(REPO_ROOT)} not found: run "
                        f"`{results.REFRESH_COMMAND}` to write it") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DiffError(f"cannot read {path.relative_to(REPO_ROOT)}: {error}") from None


def _rows(text: str, where: str, columns: list[str]) -> list[dict[str, str]]:
    if not text.strip():
        return []
    try:
        reader = csv.DictReader(io.StringIO(text), strict=True)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DiffError(f"{where} is malformed: no column {', '.join(missing)}")
        rows = list(reader)
    except csv.Error as error:
        raise DiffError(f"{where} is malformed: {error}") from None
    for number, row in enumerate(rows, start=2):
        if None in row or any(row[c] is None for c in columns):
            raise DiffError(f"{where} line {number} is malformed: wrong number of fields")
    return rows


# --- comparing ------------------------------------------------------------------------

def _number(text: str) -> Decimal | None:
    """The value as a number (bools and strings are not), rounded as results.py writes it,
    so a base written at full precision compares equal to the same value rounded."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        return Decimal(results.value_text(value))
    return Decimal(value)


def _same_value(old: str, new: str) -> bool:
    old_number, new_number = _number(old), _number(new)
    if old_number is not None and new_number is not None:
        return old_number == new_number
    try:
        return json.loads(old) == json.loads(new)
    except ValueError:
        return old == new


def _value_change(key: tuple[str, str, str], old: dict | None, new: dict | None) -> ValueChange | None:
    notebook, row_kind, name = key
    if old is None or new is None:
        return ValueChange("added" if old is None else "removed", notebook, name, row_kind,
                           old, new)
    fields = tuple(f for f in VALUE_FIELDS
                   if not (_same_value(old[f], new[f]) if f == "value" else old[f] == new[f]))
    if not fields:
        return None
    absolute = relative = None
    old_number, new_number = _number(old["value"]), _number(new["value"])
    if "value" in fields and old_number is not None and new_number is not None:
        absolute = new_number - old_number
        relative = float(absolute / abs(old_number)) if old_number else None
    return ValueChange("changed", notebook, name, row_kind, old, new, fields, absolute,
                       relative)


def compare_values(old_rows: list[dict], new_rows: list[dict]) -> list[ValueChange]:
    def keyed(rows):
        return {(r["notebook"], r["kind"], r["name"]): r for r in rows}

    old, new = keyed(old_rows), keyed(new_rows)
    changes = (_value_change(key, old.get(key), new.get(key)) for key in sorted(old | new))
    return [change for change in changes if change]


def compare_charts(old_rows: list[dict], new_rows: list[dict]) -> list[ChartChange]:
    old = {(r["notebook"], r["figure"]): r for r in old_rows}
    new = {(r["notebook"], r["figure"]): r for r in new_rows}
    changes = []
    for key in sorted(old | new):
        before, after = old.get(key), new.get(key)
        if before and after and (before["sha256"], before["format"]) == (after["sha256"],
                                                                          after["format"]):
            continue
        kind = "added" if before is None else "removed" if after is None else "changed"
        changes.append(ChartChange(kind, *key, before, after))
    return changes


def compare_lists(old_rows: list[dict], new_rows: list[dict]) -> list[ListChange]:
    old = {r["list_id"]: r for r in old_rows}
    new = {r["list_id"]: r for r in new_rows}
    found = []
    for list_id in sorted(old | new):
        before, after = old.get(list_id), new.get(list_id)
        if before is None or after is None:
            found.append(ListChange("added" if before is None else "removed", list_id,
                                    before, after))
            continue
        fields = tuple(f for f in LIST_FIELDS if before[f] != after[f])
        if fields:
            found.append(ListChange("changed", list_id, before, after, fields))
    return found


def changes(revision: str | None = None, base: Base | None = None) -> Changes:
    """Every headline value, parameter and chart that differs between the base and the
    working tree's results files."""
    base = base or resolve_base(revision)
    found = Changes(base)
    for path, columns, compare, into in (
            (results.HEADLINES_CSV, results.HEADLINE_COLUMNS, compare_values, found.values),
            (results.FIGURES_CSV, results.FIGURE_COLUMNS, compare_charts, found.charts)):
        relative = path.relative_to(REPO_ROOT).as_posix()
        old = _rows(_text_at(base.commit, path), f"{relative} at {base.commit[:12]}", columns)
        new = _rows(_working_text(path), relative, columns)
        into.extend(compare(old, new))
    relative = LISTS_CSV.relative_to(REPO_ROOT).as_posix()
    columns = ["list_id", *LIST_FIELDS]
    old = _rows(_text_at(base.commit, LISTS_CSV), f"{relative} at {base.commit[:12]}", columns)
    new = _rows(_working_text(LISTS_CSV) if LISTS_CSV.exists() else "", relative, columns)
    found.lists.extend(compare_lists(old, new))
    return found


# --- showing --------------------------------------------------------------------------

def shown_value(row: dict[str, str] | None) -> str:
    """'> 9 万平方米', '25 亿元 [expected]': the value as stored, its unit and its bound."""
    if row is None:
        return "—"
    try:
        value = json.loads(row["value"])
        number = row["value"] if _number(row["value"]) is not None else str(value)
    except ValueError:
        number = row["value"]
    text = f"{number} {row['unit']}".strip()
    bound = row.get("bound", "")
    symbol = SYMBOL.get(bound, "")
    if symbol:
        return f"{symbol} {text}"
    return f"{text} [{bound}]" if bound not in ("", "exact") else text


def shown_absolute(change: ValueChange) -> str:
    return "" if change.absolute is None else f"{change.absolute:+}"


def shown_relative(change: ValueChange) -> str:
    if change.relative is None:
        return ""
    if change.relative == 0 or abs(change.relative) >= 0.001:
        return f"{change.relative:+.1%}"
    return f"{change.relative * 100:+.2g}%"  # a tiny change must not print as +0.0%


def shown_fields(change: ValueChange) -> str:
    if change.kind != "changed":
        return change.kind
    if "value" in change.fields and "text" not in change.fields:
        # The change a reader of the book would not see: below the display rounding.
        return ", ".join(change.fields) + " (printed text unchanged)"
    return ", ".join(change.fields)


def shown_list(row: dict[str, str] | None) -> str:
    """'≥ 5: 海辰、厚生、兴恒、金汇能、科达等': the count as the book takes it, then the items."""
    if row is None:
        return "—"
    items = row["items"].split("、")
    open_list = row["ends_with_deng"] == "true"
    return f"{'≥ ' if open_list else ''}{len(items)}: {row['items']}{'等' if open_list else ''}"


def shown_hash(row: dict[str, str] | None) -> str:
    return f"{row['format']} {row['sha256'][:12]}" if row else "—"


def heading(found: Changes) -> str:
    return f"Compared with {found.base.description} ({found.base.commit[:12]})"


def as_text(found: Changes) -> str:
    lines = [f"{heading(found)}:"]
    if found.values:
        lines.append(f"Headline values and parameters: {len(found.values)}")
        lines += _columns([(c.kind, f"{c.notebook}:{c.label}",
                            f"{shown_value(c.old)} → {shown_value(c.new)}",
                            shown_absolute(c), shown_relative(c),
                            f"({shown_fields(c)})" if c.kind == "changed" else "")
                           for c in found.values])
    if found.charts:
        lines.append(f"Charts (content hash): {len(found.charts)}")
        lines += _columns([(c.kind, f"{c.notebook}:{c.figure}",
                            f"{shown_hash(c.old)} → {shown_hash(c.new)}") for c in found.charts])
    if found.lists:
        lines.append(f"Counted lists (data/lists.csv): {len(found.lists)}")
        lines += _columns([(c.kind, c.list_id, f"{shown_list(c.old)} → {shown_list(c.new)}",
                            f"({', '.join(c.fields)})" if c.fields else "")
                           for c in found.lists])
    if not found:
        lines.append("No headline value, parameter or chart changed.")
    return "\n".join(lines)


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in rows]


def _cell(text: str) -> str:
    """Markdown table cell: a pipe or a line break in a value must not break the table."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
            .replace("<", "&lt;").replace(">", "&gt;")) or " "


def as_markdown(found: Changes) -> str:
    lines = [MARKER, "## What this change does to the book's numbers and charts", "",
             f"{heading(found)}."]
    if not found:
        lines += ["", "No headline value, parameter or chart changed."]
        return "\n".join(lines) + "\n"
    if found.values:
        lines += ["", f"### Headline values and parameters ({len(found.values)})", "",
                  "| notebook | name | old | new | Δ | relative | what changed |",
                  "|---|---|---|---|--:|--:|---|"]
        lines += ["| " + " | ".join(_cell(t) for t in (
            c.notebook, c.label, shown_value(c.old), shown_value(c.new), shown_absolute(c),
            shown_relative(c), shown_fields(c))) + " |" for c in found.values]
    if found.charts:
        lines += ["", f"### Charts ({len(found.charts)})", "",
                  "| notebook | chart | change | old | new |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(t) for t in (
            c.notebook, c.figure, c.kind, shown_hash(c.old), shown_hash(c.new))) + " |"
            for c in found.charts]
    if found.lists:
        lines += ["", f"### Counted lists, data/lists.csv ({len(found.lists)})", "",
                  "| list | change | old | new |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(_cell(t) for t in (
            c.list_id, ", ".join(c.fields) or c.kind, shown_list(c.old), shown_list(c.new)))
            + " |" for c in found.lists]
    lines += ["", ("Old and new charts side by side: `python -m cqbook review` writes "
                   "`_build/review/index.html`.")]
    return "\n".join(lines) + "\n"


def diff(revision: str | None = None, output_format: str = "text") -> tuple[str, bool]:
    found = changes(revision)
    shown = as_markdown(found) if output_format == "markdown" else as_text(found)
    return shown, bool(found)

