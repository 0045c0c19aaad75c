"""The Banan chapter: its headline values follow its parameters, bad parameters never start a
kernel."""

import chapter_runs as chapter
import pytest

CHANGED = {"large_threshold_yi": "10", "projects_compared": "zizhike_radar,heshun_centre",
           "show_benchmark": "true", "benchmark_wan_cny_per_mu": "2500"}


runs = chapter.runs_fixture("banan", {"default": {}, "changed": CHANGED})
default_run = chapter.headlines_fixture("default")
changed_run = chapter.headlines_fixture("changed")


@pytest.mark.slow
def test_defaults_give_the_page_averages_and_bounds(default_run):
    assert default_run["banan_average_per_project"]["value"] == pytest.approx(178 / 32)
    assert default_run["banan_reuse_average_per_project"]["value"] == pytest.approx(54 / 23)
    assert default_run["banan_rest_average_per_project"]["value"] == pytest.approx(124 / 9)
    assert default_run["banan_large_share_floor"]["value"] == pytest.approx(100 * 80 / 178)
    assert default_run["banan_large_share_floor"]["bound"] == "lower"
    assert default_run["banan_large_outside_reuse_min"]["value"] == 2
    reuse = default_run["banan_reuse_group_per_m2"]
    assert reuse["value"] == pytest.approx(54e8 / 9e4) and reuse["bound"] == "less_than"
    zizhike = default_run["banan_zizhike_radar_per_m2"]
    assert zizhike["value"] == pytest.approx(2e8 / 3700) and zizhike["bound"] == "more_than"
    assert default_run["banan_lingchuang_base_per_mu"]["bound"] == "approx"
    assert "banan_benchmark_above" not in default_run  # the assumption is off by default


@pytest.mark.slow
def test_halving_the_threshold_halves_the_floor_and_frees_the_reuse_group(default_run,
                                                                           changed_run):
    assert (changed_run["banan_large_share_floor"]["value"]
            == pytest.approx(default_run["banan_large_share_floor"]["value"] / 2))
    # Five projects of 10亿元 fit in 54亿元: all four large ones could be reuse projects.
    assert changed_run["banan_large_outside_reuse_min"]["value"] == 0
    for name in ("banan_average_per_project", "banan_reuse_group_per_mu"):
        assert changed_run[name]["value"] == default_run[name]["value"]


@pytest.mark.slow
def test_only_the_projects_compared_get_an_intensity(changed_run):
    assert "banan_zizhike_radar_per_m2" in changed_run
    assert "banan_heshun_centre_per_m2" in changed_run
    assert "banan_lingchuang_base_per_m2" not in changed_run


@pytest.mark.slow
def test_every_figure_of_the_article_links_to_its_sentence_on_the_sources_page(runs):
    chapter.assert_sources_linked(runs["default"], chapter.article_figure_ids("banan_q3_signings"))


@pytest.mark.slow
def test_the_benchmark_counts_only_what_the_bounds_decide(changed_run):
    # 2500万元/亩: 梓之科 (> 3604) is surely above; 禾顺 (1333) below; the reuse group
    # (< 4000) cannot be placed.
    assert changed_run["banan_benchmark_above"]["value"] == 1
    assert changed_run["banan_benchmark_undecided"]["value"] == 1


@pytest.mark.parametrize("name, value, rule", [
    ("large_threshold_yi", "25", "<= 20"),
    ("large_threshold_yi", "nan", "NaN"),
    ("projects_compared", "maoqiao_centre", "one of"),
    ("projects_compared", "", "between 1 and 3"),
    ("benchmark_wan_cny_per_mu", "0", "> 0"),
    ("show_benchmark", "yes", "true or false"),
])
def test_bad_parameters_are_refused_before_any_kernel_starts(name, value, rule, monkeypatch):
    chapter.assert_refused_before_kernel("banan", name, value, rule, monkeypatch)
