"""One chart style for the whole book: the CJK font, the palette, captions and source lines.

Chinese labels are drawn with Noto Sans CJK SC, shipped (OFL) by the `mplfonts` wheel, so they
render as glyphs on any machine that can pip-install. SVGs keep text as paths (readers need no
font) and carry no date or random ids, so an unchanged chart is an unchanged file.
"""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager

from cqbook.analysis.fonts import FONT_NAME, cjk_font_path

# Okabe–Ito: distinguishable with the common forms of colour blindness.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
    "grey": "#999999",
}
CYCLE = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple")]
SVG_HASHSALT = "cqbook"


def use_book_style() -> None:
    """Register the CJK font and set the rcParams every chart of the book uses."""
    font_manager.fontManager.addfont(str(cjk_font_path()))
    matplotlib.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [FONT_NAME, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 12,
        # The CJK font ships one weight: asking for bold makes matplotlib warn on stderr.
        "axes.titleweight": "normal",
        "figure.figsize": (7.0, 4.0),
        "figure.dpi": 100,
        "svg.fonttype": "path",
        "svg.hashsalt": SVG_HASHSALT,
        "savefig.bbox": "tight",
    })
    _set_inline_output()


def _set_inline_output() -> None:
    """Inside IPython, show figures as SVG without a date, so outputs are byte-stable."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", bbox_inches="tight", metadata={"Date": None})
    _stable_table_ids(get_ipython())


def _stable_table_ids(shell) -> None:
    """pandas gives every styled table a random id (`T_6434a`) and a plain-text form holding
    its memory address, so an unchanged table would differ run to run; number the tables in
    display order and show their data as plain text instead."""
    from itertools import count

    from pandas.io.formats.style import Styler

    numbers = count(1)

    def stable_html(styler: Styler) -> str:
        return styler.set_uuid(f"table{next(numbers)}")._repr_html_()

    shell.display_formatter.formatters["text/html"].for_type(Styler, stable_html)
    shell.display_formatter.formatters["text/plain"].for_type(
        Styler, lambda styler, printer, cycle: printer.text(styler.data.to_string()))


def source_line(fig, text: str) -> None:
    """Print 'Source: …' under the chart, as every published chart must."""
    fig.text(0.01, -0.02, f"Source: {text}", fontsize=8, color=PALETTE["grey"],
             ha="left", va="top")


def new_figure(title: str, source: str, **subplots_kwargs):
    """A figure with the book's title line and source line; every chart starts here."""
    fig, ax = plt.subplots(**subplots_kwargs)
    # Regular weight: the CJK font has no bold face, and asking for one writes a findfont
    # warning to stderr (which fails the build).
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="normal")
    source_line(fig, source)
    return fig, ax


# A label an English reader can follow carries Latin text beside its Chinese (an English
# gloss or pinyin): 投资 (investment), not 投资 alone.
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")


def chinese_only(text: str) -> bool:
    """True if `text` has Chinese characters and no Latin word beside them."""
    return bool(_CJK.search(text)) and not _LATIN.search(text)


def chinese_only_labels(fig) -> list[str]:
    """Every title and axis label of `fig` (suptitle, axes and subplot titles, x/y labels,
    colour bars, secondary axes) that has Chinese without Latin text."""
    labels = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    axes = list(fig.axes)
    for ax in list(axes):
        axes.extend(getattr(ax, "child_axes", []))
    for ax in axes:
        # A secondary axis has no titles of its own, only the label of its one axis.
        if hasattr(ax, "get_title"):
            labels.extend(ax.get_title(loc) for loc in ("left", "center", "right"))
        for axis in (ax.xaxis, ax.yaxis):
            labels.append(axis.label.get_text())
    return [label for label in labels if chinese_only(label)]


class ChineseOnlyLabel(ValueError):
    """A chart title or axis label has Chinese and no English."""


def show(fig=None) -> None:
    """plt.show() for the book: refuses a chart whose title or an axis label is Chinese
    only, so that such a chart fails its notebook (and the build) instead of reaching a
    reader who cannot read it."""
    fig = fig or plt.gcf()
    found = chinese_only_labels(fig)
    if found:
        plt.close(fig)
        raise ChineseOnlyLabel(f"chart labels without English: {found}")
    plt.show()


def english_of(term: str, glossary: dict[str, str]) -> str:
    """The English of a Chinese term for a chart label: the glossary's, else its pinyin (a
    theme given as a parameter need not be in the glossary)."""
    if term in glossary:
        return glossary[term]
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(term, style=Style.TONE))
