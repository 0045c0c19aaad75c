"""Segmentation: parts cut at printed markers, policy terms kept whole, deterministic output."""

import pytest

from cqbook.analysis import jieba_dictionary, segmentation
from cqbook.analysis.segmentation import SegmentationError
from cqbook.dataset import package


def test_parts_run_from_each_marker_to_the_next():
    text = "前言A第一段内容B第二段内容C结尾"
    parts = segmentation.split_at_markers(text, {"b": "B", "a": "A"}, end="C")
    assert parts == {"b": "B第二段内容", "a": "A第一段内容"}


def test_a_marker_missing_or_repeated_is_refused():
    with pytest.raises(SegmentationError, match="occurs 0 times"):
        segmentation.split_at_markers("abc", {"x": "z"})
    with pytest.raises(SegmentationError, match="occurs 2 times"):
        segmentation.split_at_markers("abab", {"x": "a"})


def test_a_marker_after_the_end_is_refused():
    with pytest.raises(SegmentationError, match="after the end"):
        segmentation.split_at_markers("A内容C后B", {"a": "A", "b": "B"}, end="C")


def test_sentences_split_at_chinese_stops_and_lines():
    assert segmentation.sentences("一。二!\n三") == ["一。", "二!", "三"]


def test_every_dictionary_term_is_written_on_the_page():
    page = package.source_text()
    terms = segmentation.read_user_dictionary()
    assert terms and [t for t in terms if t not in page] == []


def test_the_dictionary_keeps_policy_terms_whole():
    text = "以“亩均账+含金量”为重点推动制造业“亩均论英雄”改革,专精特新小巨人"
    plain = segmentation.segmenter(use_policy_dictionary=False).lcut(text, HMM=False)
    policy = segmentation.segmenter().lcut(text, HMM=False)
    assert "亩均论英雄" not in plain and "亩均论英雄" in policy
    assert {"专精特新", "小巨人", "亩均账"} <= set(policy)


def test_extra_terms_are_added_to_the_segmenter():
    tokenizer = segmentation.segmenter(use_policy_dictionary=False, extra_terms=["论英雄改革"])
    assert "论英雄改革" in tokenizer.lcut("亩均论英雄改革", HMM=False)


def test_each_segmenter_is_private_though_the_dictionary_is_loaded_once():
    first = segmentation.segmenter(use_policy_dictionary=False, extra_terms=["论英雄改革"])
    second = segmentation.segmenter(use_policy_dictionary=False)
    assert "论英雄改革" in first.lcut("亩均论英雄改革", HMM=False)
    assert "论英雄改革" not in second.lcut("亩均论英雄改革", HMM=False)
    assert "论英雄改革" not in jieba_dictionary.whole_dictionary()[0]
    assert second.FREQ is not first.FREQ


def test_the_shared_dictionary_cuts_the_page_as_jieba_loading_its_own():
    import jieba

    own = jieba.Tokenizer()
    own.initialize()
    page = package.source_text()
    assert segmentation.segmenter(use_policy_dictionary=False).lcut(page, HMM=False) == \
        own.lcut(page, HMM=False)


def test_a_malformed_dictionary_is_refused(tmp_path):
    path = tmp_path / "dict.txt"
    path.write_text("亩均论英雄 3 n\n", encoding="utf-8")
    with pytest.raises(SegmentationError, match="one term per line"):
        segmentation.read_user_dictionary(path)
    path.write_text("小巨人\n小巨人\n", encoding="utf-8")
    with pytest.raises(SegmentationError, match="duplicate"):
        segmentation.read_user_dictionary(path)


def test_words_drop_stopwords_punctuation_and_single_characters():
    words = segmentation.words(segmentation.segmenter(), "我市将推动“专精特新”企业成长。")
    assert words == ["专精特新", "企业", "成长"]


def test_key_terms_are_distinctive_and_deterministic():
    parts = {"a": ["汽车", "汽车", "产业", "电子"], "b": ["产业", "绿色", "绿色", "工厂"]}
    first = segmentation.key_terms(parts, top_n=2)
    assert first.equals(segmentation.key_terms(parts, top_n=2))
    assert list(first[first.part == "a"].term) == ["汽车", "电子"]
    assert "产业" not in set(first.term)  # in every part: no weight


def test_theme_mentions_count_and_quote_the_first_sentence():
    mentions = segmentation.theme_mentions({"x": "甲乙。乙丙乙。"}, ["乙", "丁"])
    assert mentions.to_dict("records") == [
        {"text": "x", "theme": "乙", "count": 3, "quote": "甲乙。"},
        {"text": "x", "theme": "丁", "count": 0, "quote": ""},
    ]


def test_themes_written_together_are_one_echo():
    from cqbook.analysis.segmentation import theme_echoes

    echoes = theme_echoes({"banan": "拿到了国家第一批专精特新小巨人称号。另有专精特新企业。",
                           "strategy": "创新型—专精特新—小巨人—单项冠军"},
                          ["专精特新", "小巨人"])
    rows = {(r["text"], r["echo"]): r for r in echoes.to_dict("records")}
    assert set(rows) == {("banan", "专精特新+小巨人"), ("banan", "专精特新"),
                         ("strategy", "专精特新"), ("strategy", "小巨人")}
    assert rows[("banan", "专精特新+小巨人")]["quote"] == "拿到了国家第一批专精特新小巨人称号。"
    assert rows[("banan", "专精特新")]["quote"] == "另有专精特新企业。"
