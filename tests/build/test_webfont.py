"""The book carries its own CJK font: a WOFF2 subset holding every CJK character of every
built page, under 1 MiB, published with its licence, and rebuilt only when the characters
change."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from cqbook.build import webfont

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ONE_MIB = 1024 * 1024


def built_html(repo: Path) -> Path:
    return (repo / "_build" / "html").resolve()


def subset_cmap(html_dir: Path) -> dict[int, str]:
    with TTFont(html_dir / "_static" / "fonts" / webfont.SUBSET_FILE) as font:
        return font.getBestCmap()


def cjk_in_page(page: Path) -> set[str]:
    """Independent of the module: ideographs, CJK punctuation, kana, hangul, fullwidth forms."""
    text = html.unescape(page.read_text(encoding="utf-8"))
    return set(re.findall(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
                          r"\ufe10-\ufe1f\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]", text))


def test_every_cjk_character_of_every_built_page_is_in_the_subset(built_fixture_repo):
    html_dir = built_html(built_fixture_repo)
    cmap = subset_cmap(html_dir)
    pages = sorted(html_dir.rglob("*.html"))
    assert len(pages) >= 4
    seen: set[str] = set()
    for page in pages:
        characters = cjk_in_page(page)
        missing = sorted(c for c in characters if ord(c) not in cmap)
        assert not missing, f"{page.relative_to(html_dir)}: not in the subset: {missing}"
        seen |= characters
    # The fixture's prose: ideographs, fullwidth and CJK punctuation all reached the subset.
    assert set("永川区铜梁个（），「」。") <= seen
    # Exactly the book's characters, nothing more.
    assert {chr(code) for code in cmap} == seen


def test_subset_is_small_and_its_numbers_are_published(built_fixture_repo):
    html_dir = built_html(built_fixture_repo)
    font_file = html_dir / "_static" / "fonts" / webfont.SUBSET_FILE
    stats = json.loads((html_dir / "_static" / "fonts" / webfont.STATS_FILE).read_text())
    assert font_file.read_bytes()[:4] == b"wOF2"
    assert font_file.stat().st_size < ONE_MIB
    with TTFont(font_file) as font:
        assert stats["glyphs"] == len(font.getGlyphOrder())
        assert stats["characters"] == len(font.getBestCmap())
        assert font["name"].getDebugName(1).startswith("Noto Sans CJK SC")
        assert "Open Font License" in font["name"].getDebugName(13)
    assert stats["bytes"] == font_file.stat().st_size
    assert stats["file"] == "_static/fonts/" + webfont.SUBSET_FILE
    assert stats["missing_from_font"] == ""


def test_licence_and_stylesheet_are_published_with_the_font(built_fixture_repo):
    html_dir = built_html(built_fixture_repo)
    licence = (html_dir / "_static" / "fonts" / webfont.LICENCE_FILE).read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Copyright © 2014, 2015 Adobe" in licence
    assert webfont.SUBSET_FILE in licence
    css = (html_dir / "_static" / "cjk-font.css").read_text()
    stats = json.loads((html_dir / "_static" / "fonts" / webfont.STATS_FILE).read_text())
    assert f'url("fonts/{webfont.SUBSET_FILE}?v={stats["sha256"][:12]}")' in css
    declared = re.search(r"unicode-range:([^;]+);", css).group(1)
    assert " ".join(declared.split()) == webfont.css_unicode_range()
    assert f'--pst-font-family-base: "{webfont.FONT_FAMILY}", ' in css
    for page in ("book/index.html", "notebooks/alpha.html", "notebooks/beta.html"):
        assert 'href="../_static/cjk-font.css"' in (html_dir / page).read_text(), page


@pytest.mark.parametrize("character, cjk", [
    ("永", True), ("，", True), ("。", True), ("「", True), ("％", True), ("あ", True),
    ("한", True), ("\U00020000", True),
    ("A", False), ("é", False), ("“", False), ("—", False), ("·", False), ("≥", False),
])
def test_only_cjk_characters_go_to_the_cjk_font(character, cjk):
    assert webfont.is_cjk(character) is cjk


def test_cache_key_follows_characters_font_and_fonttools():
    import fontTools

    key = webfont.cache_key("永川", "font-a")
    assert webfont.cache_key("川永", "font-a") == key  # order does not matter
    assert webfont.cache_key("永川区", "font-a") != key
    assert webfont.cache_key("永川", "font-b") != key
    assert fontTools.version  # part of the key's payload, see cache_key


def test_unchanged_characters_reuse_the_cached_subset_and_new_ones_rebuild_it(
        built_fixture_repo, tmp_path, monkeypatch):
    html_dir = tmp_path / "html"
    shutil.copytree(built_html(built_fixture_repo), html_dir)
    cache_dir = tmp_path / "cache"
    shutil.copytree(built_fixture_repo / "_build" / "cache" / "webfont", cache_dir)
    before = (html_dir / "_static" / "fonts" / webfont.SUBSET_FILE).read_bytes()
    lines: list[str] = []

    def no_subsetting(*_args, **_kwargs):
        raise AssertionError("the character set did not change: no subsetting expected")

    real_subset = webfont.subset_font
    monkeypatch.setattr(webfont, "subset_font", no_subsetting)
    # Latin-only and repeated CJK changes do not change the character set.
    page = html_dir / "book" / "index.html"
    page.write_text(page.read_text().replace("</body>", "<p>More prose, 永川 again.</p></body>"))
    webfont.embed_cjk_font(html_dir, cache_dir, lines.append)
    assert lines[-1].startswith("webfont: ") and lines[-1].endswith("(cached)")
    assert (html_dir / "_static" / "fonts" / webfont.SUBSET_FILE).read_bytes() == before

    monkeypatch.setattr(webfont, "subset_font", real_subset)
    page.write_text(page.read_text().replace("</body>", "<p>新字：璧山</p></body>"))
    stats = webfont.embed_cjk_font(html_dir, cache_dir, lines.append)
    assert lines[-1].endswith("(subset)")
    cmap = subset_cmap(html_dir)
    assert ord("璧") in cmap and ord("山") in cmap and ord("永") in cmap
    assert stats["characters"] == len(cmap)
    assert len(list(cache_dir.glob("*.woff2"))) == 2


def test_the_font_is_subset_without_importing_matplotlib(built_fixture_repo, tmp_path):
    """A rebuild that executes nothing publishes the font too: learning where mplfonts keeps
    it must not import matplotlib (a second of such a rebuild)."""
    import subprocess
    import sys

    html_dir = tmp_path / "html"
    shutil.copytree(built_html(built_fixture_repo), html_dir)
    code = ("import sys; from cqbook.build import webfont; "
            f"webfont.embed_cjk_font({str(html_dir)!r}, {str(tmp_path / 'cache')!r}); "
            "print(sorted(m for m in ('matplotlib', 'mplfonts', 'pandas') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.splitlines()[-1] == "[]"
    assert result.stdout.splitlines()[0].endswith("(subset)")
    assert (html_dir / "_static" / "fonts" / webfont.SUBSET_FILE).stat().st_size > 1000
