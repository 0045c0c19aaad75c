"""jieba's dictionary, loaded once per process, and the part of it that the book's text needs.

jieba's dictionary holds half a million entries (its words and their prefixes); unmarshalling
it takes most of a second in every process that cuts words: each Sphinx start (the search
index), each chapter kernel that segments the page. jieba looks up only substrings of the text
it is given, so the entries made of the characters of that text cut it exactly as the whole
dictionary does. The book's words, the entries made of the characters the book's texts have
used, a quarter of the dictionary, load in a twentieth of the time. They are kept in
`_build/cache/jieba`, one file per installed jieba dictionary:

- `BookTokenizer` cuts with them and falls back on the whole dictionary the first time it is
  given a text with a character outside them, replaying the words added to it, so that from
  then on it cuts as a tokenizer on the whole dictionary would;
- `save_book_words()` widens the kept set with the characters this process was given; the
  book's Sphinx build calls it once the build succeeded (cqbook.build.search), so a page with
  a new character costs the whole dictionary once, not in every later build.

jieba 0.42.1 (pinned in requirements.lock) has no way to share or restrict a dictionary: this
sets its tokenizer's `FREQ`, `total` and `initialized`, as its `initialize()` would.
jieba itself is imported only when a tokenizer is made: it binds its log handler to the
stderr of the process that imports it (see cqbook.build.engine.PRELOAD).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import marshal
import os
import tempfile
from pathlib import Path

from cqbook.paths import BUILD_DIR

BOOK_WORDS_DIR = BUILD_DIR / "cache" / "jieba"
FORMAT = "cqbook-jieba-book-words-1"

Dictionary = tuple[dict[str, int], int]

_whole: Dictionary | None = None
_book_words: tuple[dict[str, int], int, frozenset[str]] | None = None
_book_words_read = False
_book_words_path: Path | None = None
# Every character this process's tokenizers were given (cut or added): what a wider set of
# the book's words would need.
seen_characters: set[str] = set()


def whole_dictionary() -> Dictionary:
    """jieba's word frequencies (and their prefixes, at 0) and their total, loaded once."""
    global _whole
    if _whole is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        loaded = jieba.Tokenizer()
        loaded.initialize()
        _whole = (loaded.FREQ, loaded.total)
    return _whole


def book_words_file(folder: Path | None = None) -> Path:
    """Where the book's words of the installed jieba dictionary are kept: named by jieba's
    version and its dictionary file's size and time, so a reinstalled jieba is a new file."""
    import jieba

    info = Path(jieba.__file__).with_name("dict.txt").stat()
    name = f"{jieba.__version__}-{info.st_size}-{info.st_mtime_ns}.marshal"
    return (folder or BOOK_WORDS_DIR) / name


def _read(path: Path) -> tuple[dict[str, int], int, frozenset[str]] | None:
    """The kept words, or None for a file that is missing or not one this module wrote."""
    try:
        with open(path, "rb") as kept:
            tag, characters, frequencies, total = marshal.load(kept)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if tag != FORMAT or not isinstance(characters, str) or not isinstance(frequencies, dict) \
            or not isinstance(total, int):
        return None
    return frequencies, total, frozenset(characters)


def book_words(folder: Path | None = None) -> tuple[dict[str, int], int, frozenset[str]] | None:
    """The kept book's words, their total (the whole dictionary's) and their characters; read
    once per process; None when none are kept."""
    global _book_words, _book_words_read, _book_words_path
    if not _book_words_read:
        _book_words_path = book_words_file(folder)
        _book_words, _book_words_read = _read(_book_words_path), True
    return _book_words


def starting_dictionary() -> tuple[dict[str, int], int, frozenset[str] | None]:
    """What a new tokenizer starts from: the book's words where they are kept (with their
    characters), else the whole dictionary (characters None)."""
    kept = book_words()
    if kept is not None:
        return kept
    return (*whole_dictionary(), None)


def described() -> str:
    """What new tokenizers of this process start from, in a line for a build's log."""
    kept = book_words()
    if kept is None:
        return "jieba: the whole dictionary (no book's words kept yet)"
    return (f"jieba: the book's words, {len(kept[0]):,} entries made of "
            f"{len(kept[2]):,} characters")


def save_book_words(folder: Path | None = None) -> int | None:
    """Keep the entries made of the kept characters and every character this process was
    given, when that adds any; the number of characters kept then, else None. A cache: a
    folder that cannot be written is left as it is."""
    path = book_words_file(folder)
    if path == _book_words_path and _book_words is not None \
            and seen_characters <= _book_words[2]:
        return None  # what this process started from holds every character it was given
    folder = path.parent
    current = _read(path)  # again: the other edition's build may have widened it since
    kept = current[2] if current else frozenset()
    characters = kept | seen_characters
    if current is not None and characters == kept:
        return None
    frequencies, total = whole_dictionary()
    words = {word: count for word, count in frequencies.items() if characters.issuperset(word)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            marshal.dump((FORMAT, "".join(sorted(characters)), words, total), out)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)
        return None
    return len(characters)


@functools.cache
def tokenizer_class():
    import jieba

    jieba.setLogLevel(logging.WARNING)

    class BookTokenizer(jieba.Tokenizer):
        """A private jieba tokenizer that starts from the book's words (`characters`, None for
        the whole dictionary) and widens to the whole dictionary when a text needs it."""

        def __init__(self, frequencies: dict[str, int], total: int,
                     characters: frozenset[str] | None) -> None:
            super().__init__()
            self.FREQ, self.total, self.initialized = dict(frequencies), total, True
            self.characters = characters
            self.added: list[tuple] = []

        def cover(self, text: str) -> None:
            given = set(text)
            seen_characters.update(given)
            if self.characters is not None and not given <= self.characters:
                self.widen()

        def widen(self) -> None:
            frequencies, total = whole_dictionary()
            self.FREQ, self.total, self.characters = dict(frequencies), total, None
            added, self.added = self.added, []
            for word in added:
                self.add_word(*word)

        def cut(self, sentence, cut_all=False, HMM=True, use_paddle=False):
            sentence = jieba.strdecode(sentence)
            self.cover(sentence)
            return super().cut(sentence, cut_all, HMM, use_paddle)

        def add_word(self, word, freq=None, tag=None):
            word = jieba.strdecode(word)
            self.cover(word)
            self.added.append((word, freq, tag))
            super().add_word(word, freq, tag)

    return BookTokenizer


def tokenizer():
    """A new private tokenizer on the book's words, or on the whole dictionary."""
    return tokenizer_class()(*starting_dictionary())
