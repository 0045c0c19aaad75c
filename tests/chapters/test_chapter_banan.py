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
def test_floor_space_is_never_given_per_mu_of_land(default_run):
    # 亩均 (per mu) yardsticks are per 亩 of land: only 凌创's land area gives one.
    assert "banan_lingchuang_base_per_mu" in default_run
    for name in ("reuse_group", "zizhike_radar", "heshun_centre"):
        assert f"banan_{name}_per_mu" not in default_run
        assert "floor space" in default_run[f"banan_{name}_per_m2"]["label"]


@pytest.mark.slow
def test_counts_agree_with_their_nouns(default_run):
    assert default_run["banan_named_surely_signed"]["text"] == "1 named project"
    assert default_run["banan_named_at_threshold"]["text"] == "3 named projects"


@pytest.mark.slow
def test_lingchuang_milestones_are_each_one_of_two_years(default_run):
    # The page calls 2014 to 2023 "10年": it counts inclusively, so 6年后 is 2019 or 2020.
    assert default_run["banan_lingchuang_little_giant_year"]["value"] == "2019 or 2020"


@pytest.mark.slow
def test_amounts_in_yi_carry_their_english(default_run):
    assert default_run["banan_average_per_project"]["text"] == "5.56 亿元 (CNY 556 m)"
    assert default_run["banan_reuse_group_per_m2"]["text"] == (
        "< 60,000 元/平方米 (< CNY 60,000 per m²)")


@pytest.mark.slow
def test_the_breakdown_keeps_its_bounds(default_run):
    assert default_run["banan_named_ceremony_share"]["value"] == pytest.approx(100 * 45 / 178)
    money = default_run["banan_probable_reuse_money_share"]
    assert money["value"] == pytest.approx(100 * 4 / 54) and money["bound"] == "more_than"
    area = default_run["banan_probable_reuse_area_share"]
    assert area["value"] == pytest.approx(100 * 13700 / 90000) and area["bound"] == "less_than"
    assert default_run["banan_large_in_reuse_max"]["value"] == 2
    assert default_run["banan_ytd_projects_nested"]["value"] == 53
    assert default_run["banan_ytd_projects_banded"]["value"] == 2 + 9 + 53


def test_the_year_to_date_gist_counts_both_kinds_together():
    prose = chapter.prose("banan")
    assert "53 manufacturing projects" not in prose
    assert "53 projects of two kinds together" in prose


def test_the_sectors_describe_all_32_projects_not_the_four_large_ones():
    prose = chapter.prose("banan")
    assert "4 of them at 2 billion yuan or more, in biomedicine" not in prose
    assert "The 32 projects cover biomedicine" in prose


@pytest.mark.slow
def test_halving_the_threshold_halves_the_floor_and_frees_the_reuse_group(default_run,
                                                                           changed_run):
    assert (changed_run["banan_large_share_floor"]["value"]
            == pytest.approx(default_run["banan_large_share_floor"]["value"] / 2))
    # Five projects of 10亿元 fit in 54亿元: all four large ones could be reuse projects.
    assert changed_run["banan_large_outside_reuse_min"]["value"] == 0
    for name in ("banan_average_per_project", "banan_reuse_group_per_m2"):
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
def test_the_land_benchmark_is_never_held_against_floor_space(changed_run):
    # 2500万元/亩 of land: 梓之科, 禾顺 and the reuse group give floor space, so none of them
    # is compared (before, 梓之科 counted as "above" and the reuse group as "undecided").
    assert changed_run["banan_benchmark_above"]["value"] == 0
    assert changed_run["banan_benchmark_undecided"]["value"] == 0
    assert changed_run["banan_benchmark_not_comparable"]["value"] == 3


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
