"""The data package, loaded and checked: typed pandas tables whose every figure is tied to
the words on the page it was read from.

Notebooks read data only through this module. Loading checks the package against its own
Table Schema (types, required and unique fields, enums, patterns, foreign keys) and against the
page (checksum, verbatim quotes, numbers read back from their quotes), and stops at the first
problem with a DataError naming the file, the row and the column. It does not use frictionless:
that takes seconds to import, and every notebook loads the data; the tests run frictionless
over the same package.
"""

from __future__ import annotations

import csv
import datetime
import difflib
import functools
import hashlib
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pandas as pd

from cqbook.dataset import units
from cqbook.dataset.descriptor import (
    PAGE_RESOURCE,
    DataError,
    fail,
    read_resources,
    resource_file,
    shown_path,
)
from cqbook.paths import DATA_DIR, REPO_ROOT

TABLES = ("articles", "entities", "exclusions", "figures", "glossary", "lists", "policy",
          "qualifiers", "units")
# Limits far above what one page needs (the whole package is ~100 KB, its longest CSV field
# 146 characters), so that a runaway file is refused in a second instead of read for minutes;
# the descriptor's and each file's are in cqbook.dataset.descriptor.
MAX_PACKAGE_BYTES = 10_000_000
MAX_FIELD_CHARS = 10_000
# Entity columns that hold a figure, and the base unit that figure must have.
ENTITY_FIGURE_COLUMNS = {
    "investment_figure_id": "CNY",
    "floor_area_figure_id": "m2",
    "land_area_figure_id": "m2",
}


@dataclass(frozen=True)
class CountedList:
    """A list of names the page prints, as a chapter counts it: its items in printed order,
    and whether it ends in 等 ("and others"), which makes its count a floor."""

    list_id: str
    article_id: str
    what_en: str
    quote: str
    items: tuple[str, ...]
    separator: str
    ends_with_deng: bool

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def printed(self) -> str:
        """The items joined as the page joins them, with 等 where the page prints it."""
        return self.separator.join(self.items) + ("等" if self.ends_with_deng else "")


# --- reading one table against its schema ---------------------------------------------------


class _TooManyDigits(ValueError):
    """A number with more significant digits than a float keeps (about 15)."""


def _convert(text: str, type_: str):
    if type_ == "string":
        return text
    if type_ == "number":
        number = float(text)
        # More digits than a float holds would be rounded away unseen: the value the page
        # prints could then differ from the one written here.
        if not math.isfinite(number):
            raise ValueError
        if Fraction(text.strip()) != Fraction(repr(number)):
            raise _TooManyDigits
        return number
    if type_ == "integer":
        return int(text)
    if type_ == "boolean":
        return {"true": True, "false": False}[text]
    if type_ == "date":
        return datetime.date.fromisoformat(text)
    raise ValueError


def _check_constraints(path, row, field, value):
    constraints = field.get("constraints", {})
    name = field["name"]
    if "enum" in constraints and value not in constraints["enum"]:
        fail(path, f"{value!r} is not one of {constraints['enum']}", row, name)
    if "pattern" in constraints and not re.fullmatch(constraints["pattern"], value):
        fail(path, f"{value!r} does not match {constraints['pattern']}", row, name)
    if "minimum" in constraints and value < constraints["minimum"]:
        fail(path, f"{value!r} is below the minimum {constraints['minimum']}", row, name)


def _read_table(data_dir: Path, resource: dict) -> pd.DataFrame:
    path = resource_file(data_dir, resource)
    fields = resource["schema"]["fields"]
    names = [f["name"] for f in fields]
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, strict=True))
    except UnicodeDecodeError as error:
        fail(path, f"not UTF-8 ({error.reason} at byte {error.start})")
    except csv.Error as error:  # a NUL byte, a field over csv's own limit, a stray quote
        fail(path, f"not a readable CSV file ({error})")
    if not rows:
        fail(path, "file is empty (no header)")
    header, body = rows[0], rows[1:]
    seen = set()
    for name in header:
        if name in seen:  # read by name, the second column would silently win
            fail(path, "column given twice in the header", 0, name)
        seen.add(name)
    for name in names:
        if name not in header:
            fail(path, "missing column (header has: " + ", ".join(header) + ")", 0, name)
    for name in header:
        if name not in names:
            fail(path, "column not in the schema in datapackage.json", 0, name)
    columns = {name: [] for name in names}
    for row_number, cells in enumerate(body, start=1):
        if len(cells) != len(header):
            fail(path, f"has {len(cells)} cells, the header has {len(header)}", row_number)
        record = dict(zip(header, cells))
        for field in fields:
            name, text = field["name"], record[field["name"]]
            if len(text) > MAX_FIELD_CHARS:
                fail(path, f"value of {len(text):,} characters is longer than the limit of "
                     f"{MAX_FIELD_CHARS:,}", row_number, name)
            if text == "":
                if field.get("constraints", {}).get("required"):
                    fail(path, "required value is empty", row_number, name)
                columns[name].append(None)
                continue
            try:
                value = _convert(text, field["type"])
            except _TooManyDigits:
                fail(path, f"{text!r} has more digits than a number keeps (15 significant "
                     "digits at most): it would be read as another number", row_number, name)
            except (ValueError, KeyError):
                fail(path, f"{text!r} is not a valid {field['type']}", row_number, name)
            _check_constraints(path, row_number, field, value)
            columns[name].append(value)
    frame = pd.DataFrame({name: _typed(columns[name], field["type"])
                          for name, field in zip(names, fields)})
    key = resource["schema"].get("primaryKey", [])
    unique = set(key) | {f["name"] for f in fields if f.get("constraints", {}).get("unique")}
    for name in unique:
        duplicated = frame[name].duplicated() & frame[name].notna()
        if duplicated.any():
            row = int(duplicated.to_numpy().argmax()) + 1
            fail(path, f"duplicate value {frame[name].iloc[row - 1]!r}", row, name)
    return frame


def _typed(values: list, type_: str) -> pd.Series:
    if type_ == "number":
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    if type_ == "integer":
        return pd.Series(values, dtype="Int64")
    if type_ == "boolean":
        return pd.Series(values, dtype="boolean")
    if type_ == "date":
        return pd.to_datetime(pd.Series(values, dtype="object"))
    return pd.Series(["" if v is None else v for v in values], dtype="str")


def _check_foreign_keys(data_dir: Path, resources: dict, tables: dict) -> None:
    for name, resource in resources.items():
        for foreign in resource["schema"].get("foreignKeys", []):
            (column,) = foreign["fields"]
            target = foreign["reference"]["resource"] or name
            (target_column,) = foreign["reference"]["fields"]
            known = set(tables[target][target_column])
            for row, value in enumerate(tables[name][column], start=1):
                if value and value not in known:
                    fail(resource_file(data_dir, resource),
                         f"{value!r} is not a {target_column} in {target}.csv", row, column)


# --- checks against the page and the units ---------------------------------------------------


def _check_page_hash(data_dir: Path, resource: dict) -> str:
    path = resource_file(data_dir, resource)
    raw = path.read_bytes()
    recorded = str(resource.get("hash", "")).removeprefix("sha256:")
    actual = hashlib.sha256(raw).hexdigest()
    if actual != recorded:
        fail(path, f"SHA-256 mismatch: datapackage.json records {recorded}, file has {actual}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        fail(path, f"not UTF-8 ({error.reason} at byte {error.start})")


def _check_on_page(path, page, frame, column, what="quote"):
    for row, text in enumerate(frame[column], start=1):
        if text and text not in page:
            fail(path, f"{what} not found verbatim in the source page: {text!r}", row, column)


def figure_readings(figure, page_or_quote: str | None = None) -> list[units.Reading]:
    """The printed numbers in the figure's quote that state its value (and value_max)."""
    readings = units.read_numbers(figure["quote"] if page_or_quote is None else page_or_quote)
    targets = [figure["value"]]
    if not pd.isna(figure["value_max"]):
        targets.append(figure["value_max"])
    return [r for r in readings if any(units.reads_back(r, t, figure["unit"]) for t in targets)]


def _check_figures(path: Path, figures: pd.DataFrame) -> None:
    for row, figure in enumerate(figures.to_dict("records"), start=1):
        unit = figure["unit"]
        if unit not in units.UNITS:
            fail(path, f"unknown unit {unit!r} (known: {', '.join(units.UNITS)})", row, "unit")
        printed = figure["qualifier_printed"].split()
        for word in printed:
            if word not in units.QUALIFIERS:
                known = ", ".join(units.QUALIFIERS)
                fail(path, f"unknown qualifier {word!r} (known: {known})", row,
                     "qualifier_printed")
            if word not in figure["quote"]:
                fail(path, f"qualifier {word!r} is not in the quote", row, "qualifier_printed")
        terms = figure["qualifier"].split()
        for term in terms:
            if term not in units.BOUND_OF:
                known = ", ".join(units.BOUND_OF)
                fail(path, f"unknown qualifier {term!r} (known: {known})", row, "qualifier")
        expected = [units.QUALIFIERS[w] for w in printed] or ["exact"]
        if terms != expected:
            fail(path, f"{' '.join(terms)!r} does not match the printed qualifiers "
                 f"{figure['qualifier_printed']!r} (expected {' '.join(expected)!r})",
                 row, "qualifier")
        try:
            units.bound_of(figure["qualifier"])
            quantity(figure)
        except ValueError as error:
            fail(path, str(error), row, "value_max" if "value_max" in str(error) else "qualifier")
        found = figure_readings(figure)
        expected_count = 1 if pd.isna(figure["value_max"]) else 2
        if len({(r.start, r.end) for r in found}) < expected_count:
            stated = " to ".join(_plain(v) for v in
                                 [figure["value"], figure["value_max"]][:expected_count])
            fail(path, f"value {stated} {unit} cannot be read back from the quote "
                 f"{figure['quote']!r} (exactly, to the digits printed)", row, "value")


def _plain(number: float) -> str:
    """A number as written in the CSV: all its digits (104.8600001 is not 104.86), no .0."""
    return repr(float(number)).removesuffix(".0")


def _check_entity_figures(path: Path, entities: pd.DataFrame, figures: pd.DataFrame) -> None:
    by_id = figures.set_index("figure_id")
    for row, entity in enumerate(entities.to_dict("records"), start=1):
        for column, base in ENTITY_FIGURE_COLUMNS.items():
            figure_id = entity[column]
            if not figure_id:
                continue
            if figure_id not in by_id.index:
                fail(path, f"{figure_id!r} is not a figure_id in figures.csv", row, column)
            figure = by_id.loc[figure_id]
            if figure["entity_id"] != entity["entity_id"]:
                fail(path, f"figure {figure_id!r} belongs to {figure['entity_id']!r}, "
                     f"not {entity['entity_id']!r}", row, column)
            if units.base_unit(figure["unit"]) != base:
                fail(path, f"figure {figure_id!r} is in {figure['unit']}, not a {base} unit",
                     row, column)


def _check_exclusions(path: Path, exclusions: pd.DataFrame) -> None:
    for row, exclusion in enumerate(exclusions.to_dict("records"), start=1):
        tokens = [r.token for r in units.read_numbers(exclusion["context"])]
        if tokens != exclusion["numbers"].split():
            fail(path, f"the context {exclusion['context']!r} holds the numbers {tokens}, "
                 f"not {exclusion['numbers'].split()}", row, "numbers")


def _check_headlines(path: Path, page: str, articles: pd.DataFrame) -> None:
    for row, headline in enumerate(articles["headline_zh"], start=1):
        for part in headline.split():
            if part not in page:
                fail(path, f"headline part {part!r} not found verbatim in the source page",
                     row, "headline_zh")


def _check_once_on_page(path: Path, page: str, frame: pd.DataFrame, column: str,
                        what: str) -> None:
    """Each value occurs exactly once in the page: the one place it stands for."""
    for row, text in enumerate(frame[column], start=1):
        found = page.count(text)
        if found != 1:
            times = "not at all" if found == 0 else f"{found} times"
            fail(path, f"{what} {text!r} occurs {times} in the source page, not exactly once",
                 row, column)


def _check_lists(path: Path, lists: pd.DataFrame) -> None:
    """Every item stands in its quote, in the order given, and `ends_with_deng` says whether
    等 follows the last one."""
    for row, listed in enumerate(lists.to_dict("records"), start=1):
        quote, position = listed["quote"], 0
        for item in listed["items"].split("、"):
            found = quote.find(item, position) if item else -1
            if found < 0:
                fail(path, f"item {item!r} is not in the quote {quote!r} (after the items "
                     "before it)", row, "items")
            position = found + len(item)
        printed = quote[position:position + 1] == "等"
        if printed != bool(listed["ends_with_deng"]):
            said = "does not end" if printed else "ends"
            fail(path, f"says the list {said} in 等, but the quote prints "
                 f"{quote[position:position + 1]!r} after its last item", row,
                 "ends_with_deng")


# --- loading ---------------------------------------------------------------------------------


def _stamp(data_dir: Path) -> tuple:
    """File sizes and modification times: the cache key, so an edited file is reloaded."""
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


@functools.lru_cache(maxsize=8)
def _load(data_dir_text: str, stamp: tuple) -> tuple[dict, str]:
    data_dir = Path(data_dir_text)
    resources = read_resources(data_dir)
    for name in (PAGE_RESOURCE, *TABLES):
        if name not in resources:
            fail(data_dir / "datapackage.json", f"no resource named {name!r}")
    total = sum(resource_file(data_dir, r).stat().st_size for r in resources.values())
    if total > MAX_PACKAGE_BYTES:
        fail(data_dir / "datapackage.json", f"its files hold {total:,} bytes, more than the "
             f"limit of {MAX_PACKAGE_BYTES:,}")
    page = _check_page_hash(data_dir, resources.pop(PAGE_RESOURCE))
    tables = {name: _read_table(data_dir, r) for name, r in resources.items()}
    path_of = {name: resource_file(data_dir, r) for name, r in resources.items()}
    # Units and qualifiers first: their own message lists the vocabulary, clearer than the
    # foreign key to units.csv would be.
    _check_on_page(path_of["figures"], page, tables["figures"], "quote")
    _check_figures(path_of["figures"], tables["figures"])
    _check_foreign_keys(data_dir, resources, tables)
    _check_on_page(path_of["policy"], page, tables["policy"], "quote")
    _check_on_page(path_of["entities"], page, tables["entities"], "name_zh", "name")
    _check_on_page(path_of["glossary"], page, tables["glossary"], "term_zh", "term")
    _check_on_page(path_of["exclusions"], page, tables["exclusions"], "context", "context")
    _check_headlines(path_of["articles"], page, tables["articles"])
    _check_once_on_page(path_of["articles"], page, tables["articles"], "start", "start")
    _check_on_page(path_of["articles"], page, tables["articles"], "byline_printed", "byline")
    _check_once_on_page(path_of["lists"], page, tables["lists"], "quote", "quote")
    _check_lists(path_of["lists"], tables["lists"])
    _check_entity_figures(path_of["entities"], tables["entities"], tables["figures"])
    _check_exclusions(path_of["exclusions"], tables["exclusions"])
    return tables, page


def _loaded(data_dir) -> tuple[dict, str]:
    if Path(data_dir) == DATA_DIR and not DATA_DIR.resolve().is_relative_to(REPO_ROOT):
        fail(DATA_DIR, "is a link to a folder outside the repository; refused")
    data_dir = Path(data_dir).resolve()
    return _load(str(data_dir), _stamp(data_dir))


def load_tables(data_dir=DATA_DIR) -> dict[str, pd.DataFrame]:
    """Every table of the package, checked and typed (copies: changing one changes no other
    notebook's data)."""
    tables, _ = _loaded(data_dir)
    return {name: frame.copy() for name, frame in tables.items()}


def load_table(name: str, data_dir=DATA_DIR) -> pd.DataFrame:
    tables, _ = _loaded(data_dir)
    if name not in tables:
        raise DataError(f"{shown_path(Path(data_dir) / 'datapackage.json')}: no table {name!r} "
                        f"(tables: {', '.join(sorted(tables))})")
    return tables[name].copy()


def validate(data_dir=DATA_DIR) -> None:
    """Raise DataError on the first problem in the package; return None if there is none."""
    _loaded(data_dir)


def source_text(data_dir=DATA_DIR) -> str:
    """The page, exactly as in data/raw (checked against its SHA-256)."""
    return _loaded(data_dir)[1]


def quoted(text: str, data_dir=DATA_DIR) -> str:
    """A phrase a chapter quotes from the page, returned as it is; refused (DataError) unless
    the page holds it verbatim, so that no quote in the book can drift from the page."""
    if text not in source_text(data_dir):
        raise DataError(f"not on the page: {text!r}")
    return text


def article_texts(data_dir=DATA_DIR) -> dict[str, str]:
    """Each article's text, in page order: from its `start` (articles.csv) to the next
    article's, stripped."""
    tables, page = _loaded(data_dir)
    starts = sorted((page.index(start), article_id) for article_id, start in
                    zip(tables["articles"]["article_id"], tables["articles"]["start"]))
    ends = [at for at, _ in starts[1:]] + [len(page)]
    return {article_id: page[at:end].strip() for (at, article_id), end in zip(starts, ends)}


def counted_list(list_id: str, data_dir=DATA_DIR) -> CountedList:
    """One list of lists.csv, by its id."""
    frame = load_table("lists", data_dir).set_index("list_id", drop=False)
    if list_id not in frame.index:
        close = difflib.get_close_matches(list_id, list(frame.index), n=3)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        raise DataError(f"{shown_path(Path(data_dir) / 'lists.csv')}, column 'list_id': "
                        f"unknown list id {list_id!r}{hint}")
    row = frame.loc[list_id]
    return CountedList(row["list_id"], row["article_id"], row["what_en"], row["quote"],
                       tuple(row["items"].split("、")), row["separator"],
                       bool(row["ends_with_deng"]))


def quantity(figure) -> units.Quantity:
    value_max = None if pd.isna(figure["value_max"]) else float(figure["value_max"])
    return units.Quantity(float(figure["value"]), figure["unit"], figure["qualifier"], value_max)


def figures(data_dir=DATA_DIR) -> pd.DataFrame:
    """The figures table with value_base, base_unit, bound, lower_base and upper_base (NaN
    where the page leaves a side open): the only place values are converted."""
    frame = load_table("figures", data_dir)
    quantities = [quantity(f) for f in frame.to_dict("records")]
    limits = [q.limits() for q in quantities]
    frame["value_base"] = [q.base_value for q in quantities]
    frame["base_unit"] = pd.Series([q.base_unit for q in quantities], dtype="str")
    frame["bound"] = pd.Series([q.bound for q in quantities], dtype="str")
    frame["lower_base"] = [math.nan if low is None else low for low, _ in limits]
    frame["upper_base"] = [math.nan if high is None else high for _, high in limits]
    return frame


def figure(figure_id: str, data_dir=DATA_DIR) -> pd.Series:
    """One figure (a row of figures()), by its stable id."""
    frame = figures(data_dir).set_index("figure_id", drop=False)
    if figure_id not in frame.index:
        close = difflib.get_close_matches(figure_id, list(frame.index), n=3)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        raise DataError(f"{shown_path(Path(data_dir) / 'figures.csv')}, column 'figure_id': "
                        f"unknown figure id {figure_id!r}{hint}")
    return frame.loc[figure_id]


def number_coverage(data_dir=DATA_DIR, text: str | None = None) -> pd.DataFrame:
    """Every number printed in the page (or in `text`, a variant of it), with the figure or
    the exclusion that accounts for it; both columns are empty for a number nobody read."""
    tables, page = _loaded(data_dir)
    text = page if text is None else text
    owner: dict[tuple[int, int], tuple[str, str]] = {}
    for figure_row in tables["figures"].to_dict("records"):
        for start in _occurrences(text, figure_row["quote"]):
            for r in figure_readings(figure_row):
                owner.setdefault((start + r.start, start + r.end), (figure_row["figure_id"], ""))
    # Longest context first: 第一批 (an ordinal) claims its 一 before 一批 (a batch) does.
    for context in sorted(tables["exclusions"]["context"], key=len, reverse=True):
        for start in _occurrences(text, context):
            for r in units.read_numbers(context):
                owner.setdefault((start + r.start, start + r.end), ("", context))
    rows = [(r.start, r.end, r.token, *owner.get((r.start, r.end), ("", "")))
            for r in units.read_numbers(text)]
    frame = pd.DataFrame(rows, columns=["start", "end", "token", "figure_id", "exclusion"])
    return frame.astype({"token": "str", "figure_id": "str", "exclusion": "str"})


def _occurrences(text: str, part: str) -> list[int]:
    starts, start = [], text.find(part)
    while start != -1:
        starts.append(start)
        start = text.find(part, start + 1)
    return starts
