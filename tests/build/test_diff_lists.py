"""`cqbook diff` names every counted list (data/lists.csv) that a change adds, removes or
edits, with the count as the book takes it: a list that ends in 等 is a floor."""

from __future__ import annotations

from cqbook.build import diff


def row(list_id, items, deng="true", quote="已聚集了海辰、厚生等涉及"):
    return {"list_id": list_id, "article_id": "tongliang_signings", "quote": quote,
            "items": items, "ends_with_deng": deng, "what_en": "firms", "separator": "、"}


def test_an_edited_list_is_named_with_what_changed_and_both_counts():
    old = [row("tongliang_storage_firms", "海辰、厚生"), row("gone", "甲")]
    new = [row("tongliang_storage_firms", "海辰、厚生、兴恒", quote="已聚集了海辰、厚生、兴恒等涉及"),
           row("added", "乙", deng="false")]
    found = diff.compare_lists(old, new)
    assert [(c.kind, c.list_id, c.fields) for c in found] == [
        ("added", "added", ()), ("removed", "gone", ()),
        ("changed", "tongliang_storage_firms", ("quote", "items"))]
    assert diff.shown_list(found[2].old) == "≥ 2: 海辰、厚生等"
    assert diff.shown_list(found[2].new) == "≥ 3: 海辰、厚生、兴恒等"
    assert diff.shown_list(found[0].new) == "1: 乙"


def test_an_unchanged_list_is_not_listed_and_the_english_alone_is_not_a_change():
    old = [row("tongliang_storage_firms", "海辰、厚生")]
    new = [dict(old[0], what_en="storage firms")]
    assert diff.compare_lists(old, new) == []


def test_changed_lists_show_in_text_and_markdown_and_count_as_a_change():
    found = diff.Changes(diff.Base("0" * 40, "HEAD"), lists=diff.compare_lists(
        [row("tongliang_storage_firms", "海辰、厚生")],
        [row("tongliang_storage_firms", "海辰、厚生", deng="false")]))
    assert found
    text = diff.as_text(found)
    assert "Counted lists (data/lists.csv): 1" in text
    assert "changed  tongliang_storage_firms  ≥ 2: 海辰、厚生等 → 2: 海辰、厚生  (ends_with_deng)" in text
    assert "| tongliang_storage_firms | ends_with_deng | ≥ 2: 海辰、厚生等 | 2: 海辰、厚生 |" in \
        diff.as_markdown(found)
