"""The book's words: a cut-down jieba dictionary that cuts every text as the whole one does."""

import pytest

from cqbook.analysis import jieba_dictionary, segmentation
from cqbook.dataset import package

# Characters that the page does not use (and the book's words kept for the page lack).
OUTSIDE = "饕餮之徒鳏寡孤独"


@pytest.fixture
def kept_for_the_page(tmp_path, monkeypatch):
    """Book's words kept in tmp_path for the page's characters and the policy terms', as a
    build that indexed the page would keep them; tokenizers of this test start from them."""
    terms = segmentation.read_user_dictionary()
    monkeypatch.setattr(jieba_dictionary, "seen_characters",
                        set(package.source_text()) | set("".join(terms)))
    monkeypatch.setattr(jieba_dictionary, "BOOK_WORDS_DIR", tmp_path)
    assert jieba_dictionary.save_book_words(tmp_path) is not None
    kept = jieba_dictionary._read(jieba_dictionary.book_words_file(tmp_path))
    monkeypatch.setattr(jieba_dictionary, "_book_words", kept)
    monkeypatch.setattr(jieba_dictionary, "_book_words_read", True)
    monkeypatch.setattr(jieba_dictionary, "_book_words_path",
                        jieba_dictionary.book_words_file(tmp_path))
    return kept


def whole_segmenter(extra_terms=()):
    """A segmenter on jieba's whole dictionary, as before the book's words existed."""
    tokenizer = jieba_dictionary.tokenizer_class()(*jieba_dictionary.whole_dictionary(), None)
    for term in segmentation.read_user_dictionary() + list(extra_terms):
        tokenizer.add_word(term)
    return tokenizer


def cuts(tokenizer, text):
    return {"accurate": tokenizer.lcut(text), "no HMM": tokenizer.lcut(text, HMM=False),
            "full": tokenizer.lcut(text, cut_all=True),
            "for search": tokenizer.lcut_for_search(text)}


def test_the_book_words_are_a_small_part_of_the_dictionary(kept_for_the_page):
    words, total, characters = kept_for_the_page
    whole, whole_total = jieba_dictionary.whole_dictionary()
    assert total == whole_total
    assert 0 < len(words) < len(whole) / 3
    assert all(whole[word] == count and characters.issuperset(word)
               for word, count in words.items())
    assert len([w for w in whole if characters.issuperset(w)]) == len(words)


def test_the_book_words_cut_the_page_as_the_whole_dictionary(kept_for_the_page):
    page = package.source_text()
    book = segmentation.segmenter()
    assert book.characters == kept_for_the_page[2]
    assert cuts(book, page) == cuts(whole_segmenter(), page)
    assert book.characters is not None, "the page widened the book's words"
    assert len(book.FREQ) < len(jieba_dictionary.whole_dictionary()[0]) / 3


def test_a_character_outside_the_book_words_widens_to_the_whole_dictionary(kept_for_the_page):
    text = f"亩均论英雄改革{OUTSIDE}。专精特新小巨人"
    book = segmentation.segmenter()
    assert cuts(book, text) == cuts(whole_segmenter(), text)
    assert book.characters is None
    # words added before the widening stay added, with the frequencies the whole gives them
    assert book.FREQ == whole_segmenter().FREQ


def test_an_extra_term_outside_the_book_words_is_added_as_on_the_whole_dictionary(
        kept_for_the_page):
    book = segmentation.segmenter(extra_terms=["鳏寡孤独改革"])
    assert book.characters is None
    whole = whole_segmenter(extra_terms=["鳏寡孤独改革"])
    assert book.FREQ == whole.FREQ and book.total == whole.total
    assert "鳏寡孤独改革" in book.lcut("亩均鳏寡孤独改革", HMM=False)


def test_saving_widens_the_kept_characters_only_when_a_text_brought_new_ones(
        kept_for_the_page, tmp_path):
    before = kept_for_the_page[2]
    kept_file = jieba_dictionary.book_words_file(tmp_path)
    kept_file.rename(tmp_path / "aside")
    # nothing new was given: neither read again nor written (it holds what this process read)
    assert jieba_dictionary.save_book_words(tmp_path) is None
    assert not kept_file.exists()
    (tmp_path / "aside").rename(kept_file)
    segmentation.segmenter().lcut(OUTSIDE)
    assert jieba_dictionary.save_book_words(tmp_path) == len(before | set(OUTSIDE))
    words, _, characters = jieba_dictionary._read(jieba_dictionary.book_words_file(tmp_path))
    assert characters == before | set(OUTSIDE) and "饕餮" in words


@pytest.mark.parametrize("content", [b"", b"not marshal at all", b"\xe9\x00\x00\x00\x00"])
def test_a_damaged_kept_file_is_a_missing_one(tmp_path, content):
    path = jieba_dictionary.book_words_file(tmp_path)
    path.write_bytes(content)
    assert jieba_dictionary._read(path) is None


def test_a_file_of_another_format_is_a_missing_one(tmp_path):
    import marshal

    path = jieba_dictionary.book_words_file(tmp_path)
    path.write_bytes(marshal.dumps(("another", "一", {"一": 1}, 1)))
    assert jieba_dictionary._read(path) is None
    path.write_bytes(marshal.dumps([1, 2, 3]))
    assert jieba_dictionary._read(path) is None


def test_without_kept_words_a_segmenter_starts_from_the_whole_dictionary(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(jieba_dictionary, "BOOK_WORDS_DIR", tmp_path)
    monkeypatch.setattr(jieba_dictionary, "_book_words_read", False)
    monkeypatch.setattr(jieba_dictionary, "_book_words", None)
    tokenizer = segmentation.segmenter()
    assert tokenizer.characters is None
    assert "饕餮" in tokenizer.FREQ
    assert jieba_dictionary.described().startswith("jieba: the whole dictionary")
