"""The manufacturing chapter: its headline values follow its parameters, bad parameters never
start a kernel."""

import chapter_runs as chapter
import pytest

CHANGED = {"themes": "亩均论英雄,西部陆海新通道", "top_terms": "3",
           "use_policy_dictionary": "false", "extra_terms": "一号工程"}


runs = chapter.runs_fixture("manufacturing", {"default": {}, "changed": CHANGED})
default_run = chapter.headlines_fixture("default")
changed_run = chapter.headlines_fixture("changed")


@pytest.mark.slow
def test_the_structure_is_counted_from_the_data_and_the_sixth_focus_is_not_invented(default_run):
    assert default_run["manufacturing_focuses_promised"]["value"] == 6
    assert default_run["manufacturing_focuses_printed"]["value"] == 5
    assert default_run["manufacturing_mechanisms"]["value"] == 6
    assert default_run["manufacturing_growth_stages"]["value"] == 4



@pytest.mark.slow
def test_the_regions_are_said_to_come_from_off_the_page(runs, default_run):
    assert default_run["manufacturing_yuxi_districts_on_page"]["value"] == 2  # 铜梁, 永川
    assert "not on the page" in default_run["manufacturing_yuxi_districts_on_page"]["label"]
    assert "The page does not say which district lies in which region." in chapter.prose(
        "manufacturing")


@pytest.mark.slow
def test_an_umbrella_measure_is_not_counted_beside_its_parts(default_run):
    # 做好“两个加快” only gathers its two 加快 measures: 27 items, 26 measures.
    assert default_run["manufacturing_measures"]["value"] == 26


@pytest.mark.slow
def test_both_programmes_of_one_measure_are_named(default_run):
    # 实施“万企技改”带动“万企转型”: 万企转型 is a named programme too.
    assert default_run["manufacturing_named_programmes"]["value"] == 15


@pytest.mark.slow
def test_one_title_written_as_one_is_one_echo(runs, default_run):
    # Banan's 专精特新小巨人 is one title: one echo, not one each for 专精特新 and 小巨人.
    # Another compound: 智能网联新能源汽车产业集群, the NEV industry cluster, written as one.
    assert default_run["manufacturing_compound_echoes"]["value"] == 2
    tables = "".join(chapter.html_outputs(runs["default"]))
    assert "专精特新+小巨人" in tables


@pytest.mark.slow
def test_every_figure_of_the_article_links_to_its_sentence_on_the_sources_page(runs):
    chapter.assert_sources_linked(runs["default"], chapter.article_figure_ids("manufacturing_strategy"))


@pytest.mark.slow
def test_the_structure_does_not_depend_on_the_parameters(default_run, changed_run):
    for name in ("manufacturing_focuses_printed", "manufacturing_measures",
                 "manufacturing_named_programmes", "manufacturing_mechanisms"):
        assert changed_run[name]["value"] == default_run[name]["value"]


@pytest.mark.slow
def test_the_theme_list_drives_the_matrix(default_run, changed_run):
    # 亩均论英雄 is echoed by Banan only; 西部陆海新通道 appears in Banan, not in the strategy.
    assert changed_run["manufacturing_articles_echoing"]["value"] == 1
    assert changed_run["manufacturing_shared_themes"]["value"] == 1
    assert (changed_run["manufacturing_theme_marks"]["value"]
            < default_run["manufacturing_theme_marks"]["value"])


@pytest.mark.slow
def test_without_the_policy_dictionary_only_the_extra_terms_count(default_run, changed_run):
    assert default_run["manufacturing_dictionary_terms_in_top"]["value"] > 0
    # Three terms per focus now; of the dictionary only the one extra term can appear.
    assert changed_run["manufacturing_dictionary_terms_in_top"]["value"] <= 1
    for focus in ("chengyu", "innovation", "digital", "enterprises", "layout"):
        assert isinstance(changed_run[f"manufacturing_top_term_{focus}"]["value"], str)


@pytest.mark.parametrize("name, value, rule", [
    ("top_terms", "0", ">= 1"),
    ("top_terms", "13", "<= 12"),
    ("themes", "", "between 1 and 12"),
    ("extra_terms", ",".join(["词"] * 21), "between 0 and 20"),
    ("use_policy_dictionary", "NO", "true or false"),
    ("top_term", "3", "unknown parameter"),
])
def test_bad_parameters_are_refused_before_any_kernel_starts(name, value, rule, monkeypatch):
    chapter.assert_refused_before_kernel("manufacturing", name, value, rule, monkeypatch)
