"""The report of a sweep: one chart per headline value against the swept parameters.

Written beside `results.csv` as `report.html` with its charts under `charts/` (SVG, text as
paths) and the CJK font subset to the page's own characters (`cqbook.build.webfont`): it
opens offline, on a machine without a Chinese font. One parameter swept: a line per headline
value. Two: a heat map, every cell labelled with the value as printed. Three or more: a line
against the first parameter for each combination of the others. A value the chapter records
as a bound is drawn as one (≥ with the region above it shaded, ≤ with the region below, ≈
dashed), and the parameter's default — the value the chapter is published with unless
params/book.yml says otherwise — is marked.
"""

from __future__ import annotations

import html
import math
from datetime import date
from pathlib import Path
from typing import Any

CHARTS = "charts"
REPORT = "report.html"
LOWER = ("lower", "at_least", "more_than")
UPPER = ("upper", "at_most", "less_than")
_SYMBOL_SUFFIX = {**{b: ", ≥ (lower bounds)" for b in LOWER},
                  **{b: ", ≤ (upper bounds)" for b in UPPER}, "approx": ", ≈"}
MAX_ANNOTATED_CELLS = 64
MAX_LINES = 8
# What a bound looks like, on a line chart and in a heat map's cells.
_BOUND_WORDS = {"approx": "approximate values (≈), drawn dashed",
                **{b: "lower bounds (≥): the true value is on or above the line, in the "
                   "shaded region" for b in LOWER},
                **{b: "upper bounds (≤): the true value is on or below the line, in the "
                   "shaded region" for b in UPPER}}
_CELL_WORDS = {"approx": "approximate values (≈ in each cell)",
               **{b: "lower bounds (≥ in each cell: the true value is at least that)"
                  for b in LOWER},
               **{b: "upper bounds (≤ in each cell: the true value is at most that)"
                  for b in UPPER}}


def write_report(folder: Path, notebook: str, names: list[str], runs: list[dict[str, Any]],
                 results: list[list[dict]], defaults: dict[str, Any]) -> Path:
    """Draw the charts and write `folder/report.html`; return its path."""
    import matplotlib

    matplotlib.use("Agg")
    from cqbook.analysis.charts import use_book_style

    use_book_style()
    numeric = _numeric_headlines(results)
    # A value the swept parameters do not move is said once, not drawn as a flat chart.
    constant = {name: _text_of(results[0], name) for name in numeric
                if len({_value_of(result, name) for result in results}) == 1 < len(results)}
    headlines = {name: entry for name, entry in numeric.items() if name not in constant}
    (folder / CHARTS).mkdir(parents=True, exist_ok=True)
    figures = []
    for index, (name, entry) in enumerate(headlines.items()):
        values = [_value_of(result, name) for result in results]
        texts = [_text_of(result, name) for result in results]
        chart = folder / CHARTS / f"{index:02d}-{name}.svg"
        if len(names) == 2:
            alt = _heat_map(chart, notebook, names, runs, values, texts, entry, defaults)
        else:
            alt = _lines(chart, notebook, names, runs, values, entry, defaults)
        figures.append((chart.relative_to(folder).as_posix(), alt, entry))
    skipped = sorted({h["name"] for result in results for h in result} - set(numeric))
    page = folder / REPORT
    page.write_text(_page(folder, notebook, names, runs, results, figures, skipped, constant,
                          defaults), encoding="utf-8")
    return page


def _numeric_headlines(results: list[list[dict]]) -> dict[str, dict]:
    """Headline values that are numbers in every run, in the order recorded."""
    found: dict[str, dict] = {}
    for result in results:
        for entry in result:
            found.setdefault(entry["name"], entry)
    return {name: entry for name, entry in found.items()
            if all(_is_number(_value_of(result, name)) for result in results)}


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _value_of(result: list[dict], name: str) -> Any:
    return next((h["value"] for h in result if h["name"] == name), None)


def _text_of(result: list[dict], name: str) -> str:
    return next((h["text"] for h in result if h["name"] == name), "")


def _axis_value(value: Any):
    """A parameter value as matplotlib places it: numbers and dates on a scale, the rest
    (lists, text, true/false) as categories."""
    if _is_number(value):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return str(value)
    return str(value)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def _title(entry: dict, against: str, width: int = 70) -> str:
    import textwrap

    # A long title would widen the figure past the page and shrink the chart in it.
    return textwrap.fill(f"{entry['label'] or entry['name']} — 随 {against} 变化 "
                         f"(as {against} varies)", width)


def _unit_label(entry: dict) -> str:
    return f"{entry['name']} ({entry['unit']})" if entry["unit"] else entry["name"]


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    # Room above the axes for every line of the title (new_figure's suptitle).
    lines = fig._suptitle.get_text().count("\n") + 1 if fig._suptitle else 1
    fig.subplots_adjust(top=0.97 - 0.22 / fig.get_figheight() * (lines + 0.6))

    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


def _lines(chart: Path, notebook: str, names: list[str], runs: list[dict], values: list,
           entry: dict, defaults: dict[str, Any]) -> str:
    from cqbook.analysis.charts import PALETTE, new_figure

    swept, rest = names[0], names[1:]
    fig, ax = new_figure(_title(entry, swept), f"cqbook sweep {notebook}, {len(runs)} runs")
    groups: dict[tuple, list[tuple[Any, float]]] = {}
    for run, value in zip(runs, values):
        groups.setdefault(tuple(_shown(run[n]) for n in rest), []).append(
            (_axis_value(run[swept]), value))
    bound = entry["bound"]
    lowest, highest = min(values), max(values)
    for number, (key, points) in enumerate(list(groups.items())[:MAX_LINES]):
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        label = ", ".join(f"{n} = {v}" for n, v in zip(rest, key)) or entry["name"]
        line, = ax.plot(xs, ys, linestyle="--" if bound == "approx" else "-",
                        marker="^" if bound in LOWER else "v" if bound in UPPER else "o",
                        label=label)
        if bound in LOWER or bound in UPPER:
            span = (highest - lowest) or abs(highest) or 1.0
            edge = [highest + 0.15 * span] * len(ys) if bound in LOWER else \
                [lowest - 0.15 * span] * len(ys)
            ax.fill_between(xs, ys, edge, color=line.get_color(), alpha=0.12, linewidth=0)
    default = defaults.get(swept)
    ax.axvline(_axis_value(default), color=PALETTE["grey"], linestyle=":", linewidth=1.5)
    ax.annotate(f"default {swept} = {_shown(default)}", xy=(_axis_value(default), 1),
                xycoords=("data", "axes fraction"), xytext=(4, -12),
                textcoords="offset points", fontsize=8, color=PALETTE["grey"])
    if any(isinstance(_axis_value(run[swept]), date) for run in runs):
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator(maxticks=7)  # full dates on every tick overlap
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(swept)
    ax.set_ylabel(_unit_label(entry) + _SYMBOL_SUFFIX.get(bound, ""))
    if rest:
        ax.legend(fontsize=8, frameon=False)
    _save(fig, chart)
    kind = {"approx": "Dashed line chart", **{b: "Line chart of lower bounds" for b in LOWER},
            **{b: "Line chart of upper bounds" for b in UPPER}}.get(bound, "Line chart")
    first = min(zip(runs, values), key=lambda pair: _sort_key(pair[0][swept]))
    last = max(zip(runs, values), key=lambda pair: _sort_key(pair[0][swept]))
    lines = f", one line per {', '.join(rest)}" if rest else ""
    return (f"{kind} of {entry['label'] or entry['name']} ({entry['unit'] or 'no unit'}) "
            f"against {swept}{lines}: {_shown(first[1])} at {swept} = "
            f"{_shown(first[0][swept])}, {_shown(last[1])} at {swept} = "
            f"{_shown(last[0][swept])}; lowest {_shown(lowest)}, highest {_shown(highest)}. "
            f"A dotted vertical line marks the default, {swept} = {_shown(default)}.")


def _sort_key(value: Any):
    axis = _axis_value(value)
    return (0, axis) if not isinstance(axis, str) else (1, axis)


def _heat_map(chart: Path, notebook: str, names: list[str], runs: list[dict], values: list,
              texts: list[str], entry: dict, defaults: dict[str, Any]) -> str:
    import numpy as np
    from matplotlib.patches import Rectangle

    from cqbook.analysis.charts import new_figure

    across, down = names
    columns = sorted({_shown(r[across]): r[across] for r in runs}.values(), key=_sort_key)
    rows = sorted({_shown(r[down]): r[down] for r in runs}.values(), key=_sort_key)
    grid = np.full((len(rows), len(columns)), np.nan)
    labels = {}
    for run, value, text in zip(runs, values, texts):
        position = (rows.index(run[down]), columns.index(run[across]))
        grid[position] = value
        labels[position] = text
    width = max(7.0, 1.1 * len(columns) + 2.5)
    fig, ax = new_figure(_title(entry, f"{across} × {down}", int(width * 9)),
                         f"cqbook sweep {notebook}, {len(runs)} runs",
                         figsize=(width, max(3.0, 0.6 * len(rows) + 1.8)))
    image = ax.imshow(grid, cmap="cividis", aspect="auto", origin="lower")
    colour_bar = fig.colorbar(image, ax=ax)
    colour_bar.set_label(_unit_label(entry) + _SYMBOL_SUFFIX.get(entry["bound"], ""))
    ax.set_xticks(range(len(columns)), [_shown(c) for c in columns])
    ax.set_yticks(range(len(rows)), [_shown(r) for r in rows])
    ax.set_xlabel(across)
    ax.set_ylabel(down)
    if grid.size <= MAX_ANNOTATED_CELLS:
        middle = np.nanmean(grid)
        for (row, column), text in labels.items():
            ax.text(column, row, text, ha="center", va="center", fontsize=7,
                    color="white" if grid[row, column] < middle else "black")
    marked = defaults.get(across) in columns and defaults.get(down) in rows
    if marked:
        ax.add_patch(Rectangle((columns.index(defaults[across]) - 0.5,
                                rows.index(defaults[down]) - 0.5), 1, 1, fill=False,
                               edgecolor="#D55E00", linewidth=2.5))
    _save(fig, chart)
    bound = _CELL_WORDS.get(entry["bound"], "")
    default = (f"The default cell ({across} = {_shown(defaults.get(across))}, {down} = "
               f"{_shown(defaults.get(down))}) is outlined." if marked else
               "The defaults are not in the grid.")
    return (f"Heat map of {entry['label'] or entry['name']} ({entry['unit'] or 'no unit'}), "
            f"{across} across ({', '.join(map(_shown, columns))}) and {down} down "
            f"({', '.join(map(_shown, rows))}); from {_shown(np.nanmin(grid))} to "
            f"{_shown(np.nanmax(grid))}{'; cells show ' + bound if bound else ''}. {default}")


# ---------------------------------------------------------------- the page


STYLE = """
body { font-family: "Noto Sans CJK SC Subset", system-ui, sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #1f2328; line-height: 1.5; }
figure { margin: 2rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; }
table { border-collapse: collapse; font-size: 0.85em; } td, th { padding: 0.2em 0.6em;
        border-bottom: 1px solid #ccc; text-align: left; }
code { font-size: 0.9em; } .scroll { overflow-x: auto; }
"""


def _page(folder: Path, notebook: str, names: list[str], runs: list[dict],
          results: list[list[dict]], figures: list, skipped: list[str],
          constant: dict[str, str], defaults: dict[str, Any]) -> str:
    esc = html.escape
    swept = "; ".join(f"{n}: {', '.join(_shown(v) for v in dict.fromkeys(_key(r[n]) for r in runs))}"
                      for n in names)
    sections = []
    words = _CELL_WORDS if len(names) == 2 else _BOUND_WORDS
    for src, alt, entry in figures:
        bound = words.get(entry["bound"])
        sections.append(
            f'<figure><img src="{esc(src)}" alt="{esc(alt)}">'
            f"<figcaption>{esc(entry['label'] or entry['name'])} (<code>{esc(entry['name'])}"
            f"</code>{', ' + esc(entry['unit']) if entry['unit'] else ''})"
            f"{'; ' + esc(bound) if bound else ''}.</figcaption></figure>")
    heads = names + list(dict.fromkeys(h["name"] for result in results for h in result))
    rows = []
    for run, result in zip(runs, results):
        cells = [_shown(run[n]) for n in names] + [_text_of(result, h) for h in heads[len(names):]]
        rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    body = "\n".join([
        f"<h1>参数扫描 · Sweep of {esc(notebook)}</h1>",
        f"<p>{len(runs)} runs of <code>{esc(notebook)}</code> over {esc(swept)}. Defaults: "
        + ", ".join(f"{esc(n)} = {esc(_shown(defaults.get(n)))}" for n in names)
        + '. Every value: <a href="results.csv">results.csv</a>.</p>',
        *sections,
        ("<p>The same in every run, so not charted: "
         + "; ".join(f"<code>{esc(name)}</code> {esc(text)}" for name, text in constant.items())
         + ".</p>" if constant else ""),
        (f"<p>Not charted (not a number in every run): {esc(', '.join(skipped))}.</p>"
         if skipped else ""),
        "<h2>表 · The runs</h2>",
        '<div class="scroll"><table><thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in heads)
        + "</tr></thead><tbody>", *rows, "</tbody></table></div>",
    ])
    font_face = _font_face(folder, body)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>Sweep of {esc(notebook)}</title>\n<style>{font_face}{STYLE}</style>\n"
            f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _font_face(folder: Path, text: str) -> str:
    """The book's CJK font, subset to the Chinese of this page (its charts draw their own
    text as paths), so that it reads the same without a Chinese font installed."""
    from cqbook.analysis.fonts import cjk_font_path
    from cqbook.build import webfont

    characters = webfont.cjk_characters(html.unescape(text))
    if not characters:
        return ""
    font = folder / CHARTS / webfont.SUBSET_FILE
    webfont.subset_font(cjk_font_path(), characters, font)
    return (f'@font-face {{ font-family: "{webfont.FONT_FAMILY}"; '
            f'src: url("{CHARTS}/{webfont.SUBSET_FILE}") format("woff2"); '
            f"unicode-range: {webfont.css_unicode_range()}; }}\n")
