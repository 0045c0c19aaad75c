"""The data package as shipped: valid, tied to the page, complete, and consistent with itself."""

import hashlib
import math
import subprocess
import sys

import pytest
import yaml

from cqbook.dataset import descriptor, package, units
from cqbook.dataset.package import DataError
from cqbook.paths import DATA_DIR, DATAPACKAGE, RAW_PAGE

PAGE_SHA256 = "858932f63320c01b802dba09fb955fb540d87b0a5b534197875e449387053543"


@pytest.fixture(scope="module")
def tables():
    return package.load_tables()


@pytest.fixture(scope="module")
def page():
    return package.source_text()


# --- the package and the raw page -------------------------------------------------------------


def test_package_validates_with_frictionless():
    import frictionless  # pinned in requirements.txt: a missing package must fail, not skip
    report = frictionless.validate(str(DATAPACKAGE))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_frictionless_also_refuses_a_changed_page(tmp_path):
    import shutil

    import frictionless  # pinned in requirements.txt: a missing package must fail, not skip
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    page_copy = copy / "raw" / RAW_PAGE.name
    page_copy.write_bytes(page_copy.read_bytes().replace(b"12702", b"12703"))
    report = frictionless.validate(str(copy / "datapackage.json"))
    assert [error[0] for error in report.flatten(["type"])] == ["hash-count"]


def test_raw_page_sha256_matches_package_and_sidecar():
    assert hashlib.sha256(RAW_PAGE.read_bytes()).hexdigest() == PAGE_SHA256
    sidecar = yaml.safe_load((RAW_PAGE.with_suffix(".yml")).read_text(encoding="utf-8"))
    assert sidecar["sha256"] == PAGE_SHA256
    assert sidecar["bytes"] == RAW_PAGE.stat().st_size
    assert "重庆日报" in sidecar["inferred"]["paper_title"]


def test_loader_validates_the_shipped_package():
    package.validate()


def test_source_text_is_the_raw_page():
    assert package.source_text() == RAW_PAGE.read_text(encoding="utf-8")


# --- every figure tied to its words ----------------------------------------------------------


def test_every_quote_occurs_verbatim_in_the_page(tables, page):
    for name, column in [("figures", "quote"), ("policy", "quote"), ("exclusions", "context"),
                         ("entities", "name_zh"), ("glossary", "term_zh")]:
        missing = [text for text in tables[name][column] if text not in page]
        assert missing == [], f"{name}.{column} not on the page"


def test_every_figure_value_and_unit_read_back_from_its_own_quote(tables):
    for figure in tables["figures"].to_dict("records"):
        readings = package.figure_readings(figure)
        assert readings, figure["figure_id"]
        assert all(r.token in figure["quote"] for r in readings)


def test_every_printed_qualifier_stands_in_its_quote(tables):
    for figure in tables["figures"].to_dict("records"):
        for word in figure["qualifier_printed"].split():
            assert word in figure["quote"], figure["figure_id"]


def test_quotes_are_short_clauses_not_paragraphs(tables):
    assert tables["figures"]["quote"].str.len().max() <= 40


# --- coverage: every number on the page is accounted for ---------------------------------------


def test_every_number_on_the_page_is_a_figure_or_an_excluded_number():
    coverage = package.number_coverage()
    unread = coverage[(coverage["figure_id"] == "") & (coverage["exclusion"] == "")]
    assert unread.empty, unread.to_string()


def test_scanner_finds_arabic_and_counting_chinese_numerals(page):
    tokens = [r.token for r in units.read_numbers(page)]
    for token in ["12702", "2338.16亿", "8000万", "1万", "200", "300", "二十", "六", "三", "两",
                  "亿"]:
        assert token in tokens
    assert len(tokens) == 146


@pytest.mark.parametrize(
    ("addition", "token"),
    [("其中新能源车3000辆", "3000"), ("涉及五个国家", "五"), ("增长7.5%", "7.5"),
     ("投资约1.5亿元", "1.5亿")],
)
def test_a_number_added_to_the_page_without_a_row_is_reported(page, addition, token):
    changed = page.replace("已发运汽车12702辆,", f"已发运汽车12702辆,{addition},")
    coverage = package.number_coverage(text=changed)
    unread = coverage[(coverage["figure_id"] == "") & (coverage["exclusion"] == "")]
    assert unread["token"].tolist() == [token]


def test_every_figure_accounts_for_a_number_on_the_page(tables):
    covered = set(package.number_coverage()["figure_id"])
    assert set(tables["figures"]["figure_id"]) <= covered


def test_every_exclusion_accounts_for_a_number_on_the_page(tables):
    used = set(package.number_coverage()["exclusion"])
    assert set(tables["exclusions"]["context"]) <= used


def test_repeats_point_at_the_figure_they_repeat(tables):
    repeats = tables["exclusions"][tables["exclusions"]["kind"] == "repeat"]
    assert (repeats["figure_id"] != "").all()
    by_id = tables["figures"].set_index("figure_id")
    for repeat in repeats.to_dict("records"):
        value = by_id.loc[repeat["figure_id"], "value"]
        assert units.parse_number(repeat["numbers"].rstrip("万")) == value


# --- units, bounds and the figures() view ------------------------------------------------------


def test_units_table_mirrors_the_package_units(tables):
    rows = {r["unit"]: (r["factor"], r["base_unit"]) for r in tables["units"].to_dict("records")}
    assert rows.keys() == units.UNITS.keys()
    for unit, (factor, base) in units.UNITS.items():
        assert math.isclose(rows[unit][0], factor) and rows[unit][1] == base


def test_qualifiers_table_mirrors_the_package_qualifiers(tables):
    rows = {r["printed"]: (r["term"], r["bound"]) for r in tables["qualifiers"].to_dict("records")}
    assert rows == {p: (t, units.BOUND_OF[t]) for p, t in units.QUALIFIERS.items()}


def test_more_than_fifty_yi_is_a_lower_bound_of_five_billion_cny():
    row = package.figure("tongliang_vehicle_parts_investment")
    assert (row["value_base"], row["base_unit"], row["bound"]) == (5e9, "CNY", "lower")
    assert row["lower_base"] == 5e9 and math.isnan(row["upper_base"])


def test_mu_and_wan_square_metres_convert_in_the_package():
    assert package.figure("lingchuang_base_land_area")["value_base"] == pytest.approx(100_000)
    assert package.figure("lingchuang_base_land_area")["bound"] == "approx"
    assert package.figure("heshun_factory_floor_area")["value_base"] == 10_000


def test_a_printed_range_keeps_both_bounds():
    row = package.figure("zuoka_firms_attracted")
    assert (row["bound"], row["lower_base"], row["upper_base"]) == ("range", 200, 300)


def test_figures_view_adds_typed_base_columns():
    frame = package.figures()
    assert {"value_base", "base_unit", "bound", "lower_base", "upper_base"} <= set(frame.columns)
    assert frame["value_base"].dtype == "float64"
    assert set(frame["bound"]) <= {"exact", "approx", "lower", "upper", "range"}


def test_unknown_figure_id_is_named_with_suggestions():
    with pytest.raises(DataError, match=r"unknown figure id 'yongchuan_vehicle_shipped' "
                                        r"\(did you mean: yongchuan_vehicles_shipped"):
        package.figure("yongchuan_vehicle_shipped")


def test_unknown_table_is_named():
    with pytest.raises(DataError, match="no table 'sectors'"):
        package.load_table("sectors")


def test_returned_frames_are_copies_so_one_notebook_cannot_change_anothers_data():
    figures = package.load_tables()["figures"]
    figures.loc[0, "value"] = -1
    assert package.load_tables()["figures"].loc[0, "value"] != -1


# --- the numbers later chapters rely on --------------------------------------------------------


@pytest.mark.parametrize(
    ("figure_id", "value", "unit", "bound"),
    [
        ("yongchuan_vehicles_shipped", 12702, "辆", "exact"),
        ("tongliang_projects_signed", 27, "个", "exact"),
        ("tongliang_investment_total", 206, "亿元", "exact"),
        ("tongliang_vehicle_parts_projects", 4, "个", "exact"),
        ("banan_projects_signed", 32, "个", "exact"),
        ("banan_investment_total", 178, "亿元", "exact"),
        ("banan_large_projects", 4, "个", "exact"),
        ("banan_large_project_threshold", 20, "亿元", "lower"),
        ("banan_cell_platform_investment", 25, "亿元", "approx"),
        ("zizhike_additional_investment", 2, "亿元", "lower"),
        ("zizhike_factory_floor_area", 3700, "平方米", "exact"),
        ("tianfuzhichuang_investment", 8000, "万元", "exact"),
        ("banan_reuse_projects", 23, "个", "exact"),
        ("banan_reuse_floor_area", 9, "万平方米", "lower"),
        ("banan_reuse_contract_investment", 54, "亿元", "exact"),
        ("wankaiyun_integration_index", 104.86, "index points", "exact"),
        ("wankaiyun_strength_index", 105.04, "index points", "exact"),
        ("wankaiyun_strength_index_change", 1.52, "index points", "exact"),
        ("wankaiyun_gdp", 2338.16, "亿元", "exact"),
        ("wankaiyun_gdp_per_head", 63242, "元", "exact"),
        ("wankaiyun_gdp_growth", 5.5, "%", "exact"),
        ("manufacturing_focuses_promised", 6, "个", "exact"),
    ],
)
def test_figures_the_chapters_rely_on(figure_id, value, unit, bound):
    row = package.figure(figure_id)
    assert (row["value"], row["unit"], row["bound"]) == (value, unit, bound)


# --- policy structure --------------------------------------------------------------------------


def children(policy, parent, kind=None):
    rows = policy[policy["parent_id"] == parent].sort_values("seq")
    return rows if kind is None else rows[rows["kind"] == kind]


def test_the_page_prints_five_of_the_six_promised_focuses(tables):
    focuses = children(tables["policy"], "mfg_six_focuses", "focus")
    assert len(focuses) == 5
    assert package.figure("manufacturing_focuses_promised")["value"] == 6
    assert all(q.startswith("聚焦") for q in focuses["quote"])


def test_every_focus_has_measures(tables):
    for focus in children(tables["policy"], "mfg_six_focuses", "focus")["item_id"]:
        assert len(children(tables["policy"], focus)) >= 3, focus


def test_the_combination_punch_has_six_mechanisms(tables):
    assert len(children(tables["policy"], "mfg_combination_punch", "mechanism")) == 6


def test_the_growth_path_is_in_printed_order(tables, page):
    stages = children(tables["policy"], "mfg_focus_enterprises_quality", "growth_stage")
    assert "“" + "—".join(stages["quote"]) + "”" in page


@pytest.mark.parametrize(
    ("parent", "kind", "figure_id"),
    [
        ("emp_programme", "campaign", "employment_quality_campaigns"),
        ("emp_programme", "pilot", "employment_pilots"),
        ("emp_campaign_assistance", "target_group", "employment_monitored_groups"),
        ("emp_labour_brand_pilot", "market", "labour_brand_markets"),
        ("emp_labour_brand_pilot", "district", "labour_brand_districts"),
        ("emp_labour_brand_pilot", "brand", "labour_brand_brands"),
        ("mfg_focus_digital_two", "measure", "manufacturing_digital_accelerations"),
    ],
)
def test_listed_items_match_the_number_the_page_gives(tables, parent, kind, figure_id):
    assert len(children(tables["policy"], parent, kind)) == package.figure(figure_id)["value"]


# --- glossary, articles, files ------------------------------------------------------------------


def test_glossary_covers_every_named_place_firm_and_programme(tables):
    terms = set(tables["glossary"]["term_zh"])
    assert set(tables["entities"]["name_zh"]) <= terms
    named = tables["policy"][tables["policy"]["kind"].isin(["market", "district", "brand"])]
    assert set(named["quote"]) <= terms


def test_glossary_covers_every_printed_unit_in_use(tables):
    used = {u for u in tables["figures"]["unit"] if any("\u4e00" <= c <= "\u9fff" for c in u)}
    assert used <= set(tables["glossary"]["term_zh"])


def test_glossary_pinyin_has_one_syllable_per_chinese_character(tables):
    for term, pinyin in zip(tables["glossary"]["term_zh"], tables["glossary"]["pinyin"]):
        hanzi = [c for c in term if "\u4e00" <= c <= "\u9fff"]
        # Latin letters and punctuation of the term itself (CDMO/CMO, +, brackets) are kept as is.
        syllables = [t for t in pinyin.replace("(", " ").replace(")", " ").split() if t not in term]
        assert len(syllables) == len(hanzi), term


def test_articles_cover_all_six_items_and_mark_paper_and_date_inferred(tables):
    articles = tables["articles"]
    assert len(articles) == 6
    assert articles["paper_and_issue_inferred"].all()
    assert set(tables["figures"]["article_id"]) <= set(articles["article_id"])


def test_csv_files_are_utf8_lf_and_sorted_by_their_key():
    import json

    package = json.loads(DATAPACKAGE.read_text(encoding="utf-8"))
    for resource in package["resources"]:
        if resource["name"] == "page":
            continue
        raw = (DATA_DIR / resource["path"]).read_bytes()
        assert b"\r" not in raw, resource["path"]
        keys = [line.split(",", 1)[0] for line in raw.decode("utf-8").splitlines()[1:]]
        assert keys == sorted(keys), resource["path"]


# --- provenance digest and speed ---------------------------------------------------------------


def test_datapackage_hash_is_stable_and_follows_the_data(tmp_path):
    import shutil

    assert descriptor.datapackage_hash() == descriptor.datapackage_hash()
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    assert descriptor.datapackage_hash(copy) == descriptor.datapackage_hash()
    path = copy / "glossary.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Russia", "Russian Federation"),
                    encoding="utf-8")
    assert descriptor.datapackage_hash(copy) != descriptor.datapackage_hash()


def test_the_digest_is_taken_without_importing_pandas():
    """Every build that executes nothing still writes the digest into the provenance boxes:
    from the files alone, without pandas (half a second of such a rebuild)."""
    import subprocess
    import sys

    code = ("import sys; from cqbook.dataset.descriptor import datapackage_hash; "
            "print(datapackage_hash(), 'pandas' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == [descriptor.datapackage_hash(), "False"]


def test_loading_imports_no_plotting_execution_or_frictionless():
    # How long loading takes is the benchmark's business; what it must not pull in is ours.
    code = ("import sys; import cqbook.dataset.package as d; d.load_tables(); "
            "print(*(m in sys.modules for m in ('matplotlib', 'papermill', 'frictionless')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_a_second_load_reads_no_table_again(monkeypatch):
    package.load_tables()
    monkeypatch.setattr(package, "_read_table", lambda *a: pytest.fail("a table was read again"))
    package.load_tables()


def test_a_quote_is_returned_only_if_the_page_holds_it_verbatim():
    phrase = package.source_text()[100:112]
    assert package.quoted(phrase) == phrase
    with pytest.raises(DataError, match="not on the page"):
        package.quoted(phrase + "并非原文")
