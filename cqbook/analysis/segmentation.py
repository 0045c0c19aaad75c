"""Chinese text for analysis: the page cut into parts at printed markers, words by jieba with
the book's policy dictionary, key terms per part and theme mentions with their sentences.

Everything here is deterministic: one private jieba tokenizer per call of `segmenter()` (never
jieba's global one), its start-up messages silenced (they go to stderr, which fails the
build), ties broken by where a word first appears.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from cqbook.analysis import jieba_dictionary
from cqbook.paths import DATA_DIR

if TYPE_CHECKING:  # Sphinx's search imports this module: pandas would cost each build a second
    import pandas as pd

# Policy terms of the page that jieba's own dictionary would split (亩均论英雄 -> 亩均/论/英雄).
# One term per line, nothing else: jieba then gives each the frequency that keeps it whole.
USER_DICTIONARY = DATA_DIR / "jieba_user_dict.txt"

# Function words and the article's own scaffolding: frequent in every part, telling nothing.
STOPWORDS = frozenset({
    "我市", "蓝庆华", "本报记者", "具体措施", "同时", "具体", "措施", "包括", "方面", "通过", "以此", "其一", "其二",
    "还将", "一批", "一个", "这个", "等", "以及", "进一步", "不断", "持续", "加快", "推动", "推进",
    "深化", "实施", "建设", "发展", "聚焦", "将", "在", "和", "与", "的", "了", "是", "为",
    "有效", "围绕", "关键", "重点", "健全", "完善", "建立", "引导", "提高", "提升",
})
_WORD = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff+]*[\u4e00-\u9fff]")
_SENTENCE_END = "。!?;!?;\n"


class SegmentationError(ValueError):
    """A marker is missing from the text, or a dictionary file is malformed."""


def split_at_markers(text: str, markers: dict[str, str], end: str | None = None) -> dict[str, str]:
    """Cut `text` into parts, one per marker: each part runs from its marker (included) to the
    next marker found in the text, or to `end` (excluded) or the end of the text. Each marker
    must occur exactly once, so a part can never be taken from the wrong place."""
    starts = {}
    for key, marker in markers.items():
        count = text.count(marker)
        if count != 1:
            raise SegmentationError(f"marker {marker!r} ({key}) occurs {count} times, not once")
        starts[key] = text.index(marker)
    stop = len(text)
    if end is not None:
        if text.count(end) != 1:
            raise SegmentationError(f"end marker {end!r} occurs {text.count(end)} times, not once")
        stop = text.index(end)
    order = sorted(starts, key=starts.get)
    parts = {}
    for key, following in zip(order, order[1:] + [None]):
        part_end = stop if following is None else min(starts[following], stop)
        if part_end <= starts[key]:
            raise SegmentationError(f"marker {markers[key]!r} ({key}) lies after the end marker")
        parts[key] = text[starts[key]:part_end].strip()
    return {key: parts[key] for key in markers}


def sentences(text: str) -> list[str]:
    """Sentences (and lines) of a Chinese text, stripped, empty ones dropped."""
    found, current = [], ""
    for char in text:
        current += char
        if char in _SENTENCE_END:
            found.append(current.strip())
            current = ""
    found.append(current.strip())
    return [s for s in found if s]


def _sentence_at(text: str, position: int) -> str:
    """The sentence (as `sentences` cuts them) that holds the character at `position`."""
    start = max(text.rfind(end, 0, position) for end in _SENTENCE_END) + 1
    stops = [i for i in (text.find(end, position) for end in _SENTENCE_END) if i >= 0]
    return text[start:min(stops) + 1 if stops else len(text)].strip()


def read_user_dictionary(path: Path = USER_DICTIONARY) -> list[str]:
    """The terms of a user dictionary: one per line, `#` comments and blank lines skipped."""
    terms = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        term = line.strip()
        if not term or term.startswith("#"):
            continue
        if " " in term or "\t" in term:
            raise SegmentationError(f"{path}, line {number}: one term per line, no spaces "
                                    f"(got {term!r})")
        terms.append(term)
    duplicated = sorted(t for t, n in Counter(terms).items() if n > 1)
    if duplicated:
        raise SegmentationError(f"{path}: duplicate terms {duplicated}")
    return terms


def segmenter(use_policy_dictionary: bool = True, extra_terms=(),
              dictionary: Path = USER_DICTIONARY):
    """A private jieba tokenizer, with the policy dictionary and any extra terms added. It
    starts from the book's words where they are kept (`jieba_dictionary`), and cuts every
    text as one on jieba's whole dictionary does."""
    tokenizer = jieba_dictionary.tokenizer()
    terms = (read_user_dictionary(dictionary) if use_policy_dictionary else []) + list(extra_terms)
    for term in terms:
        tokenizer.add_word(term)
    return tokenizer


def words(tokenizer, text: str, stopwords=STOPWORDS) -> list[str]:
    """Content words of `text` in order: two or more Chinese characters ('+' allowed inside,
    as in 产业大脑+未来工厂), stop words dropped."""
    return [w for w in tokenizer.lcut(text, HMM=False)
            if _WORD.fullmatch(w) and w not in stopwords]


def key_terms(words_by_part: dict[str, list[str]], top_n: int) -> pd.DataFrame:
    """The `top_n` most distinctive words of each part, by tf-idf across the parts: count in
    the part times log(parts / parts holding the word). A word every part uses scores 0 and
    is left out. Ties go to the word that appears first in the part."""
    import pandas as pd

    n_parts = len(words_by_part)
    holding = Counter(w for ws in words_by_part.values() for w in set(ws))
    rows = []
    for part, ws in words_by_part.items():
        counts = Counter(ws)
        first = {w: ws.index(w) for w in counts}
        scored = [(counts[w] * math.log(n_parts / holding[w]), counts[w], first[w], w)
                  for w in counts]
        scored = [s for s in scored if s[0] > 0]
        scored.sort(key=lambda s: (-s[0], s[2]))
        for rank, (score, count, _, word) in enumerate(scored[:top_n], start=1):
            rows.append({"part": part, "rank": rank, "term": word, "count": count,
                         "score": round(score, 6)})
    return pd.DataFrame(rows, columns=["part", "rank", "term", "count", "score"])


def theme_mentions(texts: dict[str, str], themes: list[str]) -> pd.DataFrame:
    """One row per text and theme: how often the theme is written in the text and the first
    sentence that holds it ('' if none). Plain substring search, so a theme is found however
    the segmenter would cut it."""
    import pandas as pd

    rows = []
    for key, text in texts.items():
        for theme in themes:
            holding = [s for s in sentences(text) if theme in s]
            rows.append({"text": key, "theme": theme, "count": text.count(theme),
                         "quote": holding[0] if holding else ""})
    return pd.DataFrame(rows, columns=["text", "theme", "count", "quote"])


def theme_echoes(texts: dict[str, str], themes: list[str]) -> pd.DataFrame:
    """One row per text and echo: a theme as written, where themes written touching or
    overlapping one another count as one echo (专精特新小巨人 is one title, not an echo of
    专精特新 and another of 小巨人). `echo` joins the themes of the echo with '+', in the order
    of `themes`; `count` is how often the text writes it, `quote` its first sentence."""
    import pandas as pd

    order = {theme: i for i, theme in enumerate(themes)}
    rows = []
    for key, text in texts.items():
        spans = sorted((m.start(), m.end(), theme) for theme in themes
                       for m in re.finditer(re.escape(theme), text))
        groups: list[tuple[int, int, set[str]]] = []
        for start, end, theme in spans:
            if groups and start <= groups[-1][1]:
                first, last, members = groups[-1]
                groups[-1] = (first, max(last, end), members | {theme})
            else:
                groups.append((start, end, {theme}))
        found: dict[str, list[int]] = {}
        for start, _, members in groups:
            echo = "+".join(sorted(members, key=order.get))
            found.setdefault(echo, []).append(start)
        for echo, starts in found.items():
            rows.append({"text": key, "echo": echo, "themes": echo.split("+"),
                         "count": len(starts), "quote": _sentence_at(text, starts[0])})
    return pd.DataFrame(rows, columns=["text", "echo", "themes", "count", "quote"])
