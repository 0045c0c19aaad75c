"""The book carries its own Chinese font: a subset of Noto Sans CJK SC, offline, as small as it
can be.

After Sphinx has written the HTML, every CJK character in every built page is collected and
the font the charts use (Noto Sans CJK SC from `mplfonts`, SIL Open Font License 1.1) is
subset to exactly those characters, as WOFF2, into the book's `_static/fonts/`, with its
licence beside it. The style sheet `_static/cjk-font.css` (written here, from the same
`CJK_RANGES`; `_config.yml` lists it in `html_css_files`, so every page links it) declares it
with a `unicode-range` that covers only CJK text, so Latin text keeps the theme's font.
Everything is written into the built HTML, not into the book's sources: any book the
pipeline builds, fixture books included, gets it.

Subsetting a 16 MB font takes seconds, so the result is cached under `_build/cache/webfont/`,
keyed by the sorted characters, the source font's digest, fontTools' version and the subset
options: an unchanged character set reuses the cached file.
"""

from __future__ import annotations

import hashlib
import html as html_escapes
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from cqbook.build.cache import file_digest, keep_newest, write_json_atomic

# Unicode blocks drawn from the CJK font, and the stylesheet's unicode-range. Latin, Greek,
# Cyrillic and general punctuation (“ ” — ·) stay with the theme's font.
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),    # Hangul Jamo
    (0x2E80, 0x2FDF),    # CJK Radicals Supplement, Kangxi Radicals
    (0x2FF0, 0x303F),    # Ideographic Description, CJK Symbols and Punctuation (，。、「」)
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x3100, 0x312F),    # Bopomofo
    (0x3130, 0x318F),    # Hangul Compatibility Jamo
    (0x3190, 0x31FF),    # Kanbun, Bopomofo Extended, CJK Strokes, Katakana Extensions
    (0x3200, 0x33FF),    # Enclosed CJK Letters and Months, CJK Compatibility
    (0x3400, 0x4DBF),    # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),    # CJK Unified Ideographs
    (0xAC00, 0xD7AF),    # Hangul Syllables
    (0xF900, 0xFAFF),    # CJK Compatibility Ideographs
    (0xFE10, 0xFE1F),    # Vertical Forms
    (0xFE30, 0xFE4F),    # CJK Compatibility Forms
    (0xFF00, 0xFFEF),    # Halfwidth and Fullwidth Forms (，：（）％)
    (0x20000, 0x3FFFF),  # Supplementary Ideographic Planes (Extensions B–H)
)

FONT_FAMILY = "Noto Sans CJK SC Subset"  # the name `cjk-font.css` gives the subset
FONTS_FOLDER = Path("_static") / "fonts"  # inside the built HTML
SUBSET_FILE = "NotoSansCJKsc-subset.woff2"
STATS_FILE = "cjk-subset.json"
LICENCE_FILE = "LICENSE-NotoSansCJK.txt"
# The SIL Open Font License 1.1, word for word, which the subset is shipped with.
OFL_1_1 = Path(__file__).with_name("OFL-1.1.txt")
STYLESHEET = Path("_static") / "cjk-font.css"

# Bump when the subsetting options below change: the cache key must change with them.
SUBSET_RECIPE = "1"
# Horizontal text only: vertical alternates and other languages' local forms would add glyphs
# no page shows.
DROPPED_FEATURES = ("vert", "vrt2", "vkrn", "vpal", "vhal", "valt", "vchw", "locl")
KEPT_NAME_IDS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)  # 13, 14: the licence


# One character class of every range: a book's pages are millions of characters, and testing
# each against the ranges in Python took most of an incremental build's seconds.
_CJK_CLASS = re.compile("[" + "".join(f"{chr(start)}-{chr(end)}" for start, end in CJK_RANGES)
                        + "]")


def is_cjk(character: str) -> bool:
    return _CJK_CLASS.fullmatch(character) is not None


def cjk_characters(text: str) -> set[str]:
    return set(_CJK_CLASS.findall(text))


def html_pages(html_dir: Path) -> list[Path]:
    return sorted(Path(html_dir).rglob("*.html"))


def page_characters(page: Path) -> set[str]:
    """CJK characters of one built page: its text, attributes and character references."""
    return cjk_characters(html_escapes.unescape(page.read_text(encoding="utf-8")))


def book_characters(html_dir: Path) -> set[str]:
    characters: set[str] = set()
    for page in html_pages(html_dir):
        characters |= page_characters(page)
    return characters


def css_unicode_range(ranges: Iterable[tuple[int, int]] = CJK_RANGES) -> str:
    return ", ".join(f"U+{start:X}-{end:X}" for start, end in ranges)


def cache_key(characters: Iterable[str], font_digest: str) -> str:
    import fontTools

    payload = {"characters": "".join(sorted(characters)), "font": font_digest,
               "fonttools": fontTools.version, "recipe": SUBSET_RECIPE}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def subset_font(font_path: Path, characters: Iterable[str], output: Path) -> dict:
    """Write a WOFF2 subset of `font_path` holding `characters`; return what it holds."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = [feature for feature in options.layout_features
                               if feature not in DROPPED_FEATURES]
    options.name_IDs = list(KEPT_NAME_IDS)
    options.desubroutinize = True  # compresses better under WOFF2's Brotli
    options.hinting = False  # CFF hints: 14 % of the file; screens anti-alias CJK without them
    # recalcTimestamp=False keeps `head.modified`: the same characters give the same bytes.
    font = TTFont(font_path, recalcTimestamp=False)
    wanted = {ord(character) for character in characters}
    available = set(font.getBestCmap())
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted & available))
    subsetter.subset(font)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    font.flavor = "woff2"
    font.save(partial)
    glyphs = len(font.getGlyphOrder())
    font.close()
    os.replace(partial, output)
    return {"glyphs": glyphs,
            "characters": len(wanted & available),
            "missing_from_font": "".join(sorted(chr(code) for code in wanted - available))}


def _font_names(font_path: Path) -> dict[str, str]:
    from fontTools.ttLib import TTFont

    font = TTFont(font_path, lazy=True)
    names = {"copyright": font["name"].getDebugName(0) or "",
             "version": font["name"].getDebugName(5) or "",
             "licence": font["name"].getDebugName(13) or ""}
    font.close()
    return names


def stylesheet(version: str) -> str:
    """The @font-face rule, and the subset put first in each of the theme's font stacks: by its
    unicode-range it only ever draws CJK characters, so the theme's fonts draw the rest."""
    ranges = ",\n    ".join(css_unicode_range().split(", "))
    return f"""/* The book's own CJK font, written by cqbook/build/webfont.py at build time: Noto Sans CJK SC,
   subset to the CJK characters of the built pages (licence: fonts/{LICENCE_FILE}).
   Nothing is fetched from the network. */
@font-face {{
  font-family: "{FONT_FAMILY}";
  src: url("fonts/{SUBSET_FILE}?v={version}") format("woff2");
  font-style: normal;
  font-weight: 400;
  font-display: swap;
  unicode-range: {ranges};
}}

/* pydata-sphinx-theme's font variables (defined on `html`; this sheet comes after it). */
html {{
  --pst-font-family-base: "{FONT_FAMILY}", var(--pst-font-family-base-system);
  --pst-font-family-heading: "{FONT_FAMILY}", var(--pst-font-family-base-system);
  --pst-font-family-monospace: "{FONT_FAMILY}", var(--pst-font-family-monospace-system);
}}
"""


def licence_text(stats: dict) -> str:
    return f"""{SUBSET_FILE} in this folder is a subset of {stats["source_font"]}
({stats["source_version"]}), the Noto Sans CJK SC shipped by the `mplfonts` Python wheel,
made by cqbook/build/webfont.py with fontTools. It holds only the CJK characters that appear in this
book, without hinting, vertical forms or other languages' local forms: a Modified Version under
the licence below, distributed under the same licence. It does not use the Reserved Font Name.

{stats["source_copyright"]}
(as recorded in the font; the Noto CJK project's current notice reads: Copyright 2014-2021
Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'.)
Noto is a trademark of Google Inc. Source is a trademark of Adobe in the United States and/or
other countries.

This Font Software is licensed under the SIL Open Font License, Version 1.1.
This license is copied below, and is also available with a FAQ at:
https://openfontlicense.org


{OFL_1_1.read_text(encoding="utf-8")}"""


def embed_cjk_font(html_dir: Path, cache_dir: Path,
                   log: Callable[[str], None] = print) -> dict:
    """Subset the CJK font to the characters of the built book at `html_dir` and put it, with
    its numbers, into `_static/fonts/`. Returns those numbers."""
    from cqbook.analysis.fonts import cjk_font_path

    html_dir = Path(html_dir)
    fonts = html_dir / FONTS_FOLDER
    source = cjk_font_path()
    characters = book_characters(html_dir)
    key = cache_key(characters, file_digest(source))
    cached_font = Path(cache_dir) / f"{key}.woff2"
    cached_stats = cached_font.with_suffix(".json")
    try:  # random bytes in either file, or a half-written one: subset again
        stats = json.loads(cached_stats.read_text(encoding="utf-8"))
        reused = file_digest(cached_font) == stats["sha256"]
    except (FileNotFoundError, KeyError, TypeError, ValueError):
        reused = False
    if reused:
        os.utime(cached_font)
    else:
        stats = subset_font(source, characters, cached_font)
        stats.update({"bytes": cached_font.stat().st_size,
                      "sha256": file_digest(cached_font),
                      "source_font": source.name,
                      "source_font_sha256": file_digest(source),
                      **{f"source_{k}": v for k, v in _font_names(source).items()}})
        write_json_atomic(cached_stats, stats)
        for stale in keep_newest(Path(cache_dir), "*.woff2"):  # and each one's numbers
            stale.with_suffix(".json").unlink(missing_ok=True)
    fonts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached_font, fonts / SUBSET_FILE)
    (fonts / LICENCE_FILE).write_text(licence_text(stats), encoding="utf-8")
    (html_dir / STYLESHEET).write_text(stylesheet(stats["sha256"][:12]), encoding="utf-8")
    published = {**stats, "file": f"{FONTS_FOLDER.as_posix()}/{SUBSET_FILE}",
                 "family": FONT_FAMILY, "licence_file": f"{FONTS_FOLDER.as_posix()}/{LICENCE_FILE}",
                 "pages": len(html_pages(html_dir))}
    write_json_atomic(fonts / STATS_FILE, published)
    log(f"webfont: {stats['characters']:,} characters, {stats['glyphs']:,} glyphs, "
        f"{stats['bytes'] / 1024:,.0f} KiB ({'cached' if reused else 'subset'})")
    if stats["missing_from_font"]:
        log(f"webfont: WARNING {source.name} has no glyph for "
            f"{stats['missing_from_font']!r}: readers may see boxes there")
    return published

