"""Corrupted copies of the data package: each kind of fault raises DataError, and the message
names the file, the row and the column a maintainer has to fix."""

import csv
import hashlib
import shutil
import time

import pytest
from data_edits import drop_column, edit_cell

from cqbook.dataset import descriptor, package
from cqbook.dataset.package import DataError
from cqbook.paths import DATA_DIR


@pytest.fixture
def data_copy(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def load_error(data_dir) -> str:
    with pytest.raises(DataError) as error:
        package.load_tables(data_dir)
    return str(error.value)


def test_the_untouched_copy_loads(data_copy):
    assert len(package.load_tables(data_copy)["figures"]) > 0


def test_missing_column_names_file_header_and_column(data_copy):
    drop_column(data_copy, "figures", "unit")
    assert "figures.csv, header, column 'unit': missing column" in load_error(data_copy)


def test_extra_column_names_file_header_and_column(data_copy):
    path = data_copy / "glossary.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[0:1] + [f"{line}," for line in lines[1:]])
                    .replace(lines[0], lines[0] + ",tone", 1) + "\n", encoding="utf-8")
    assert "glossary.csv, header, column 'tone': column not in the schema" in load_error(data_copy)


def case(name, table, row_id, column, value, message):
    return pytest.param(table, row_id, column, value, message, id=name)


@pytest.mark.parametrize(
    ("table", "row_id", "column", "value", "message"),
    [
        case("non_numeric_value", "figures", "yongchuan_vehicles_shipped", "value", "一万二",
             "'一万二' is not a valid number"),
        case("unknown_unit_lists_the_known_units", "figures", "tongliang_investment_total",
             "unit", "亿圆", "unknown unit '亿圆' (known: 元, 万元"),
        case("unknown_printed_qualifier", "figures", "lingchuang_base_land_area",
             "qualifier_printed", "大约", "unknown qualifier '大约'"),
        case("unknown_controlled_qualifier", "figures", "lingchuang_base_land_area",
             "qualifier", "roughly", "unknown qualifier 'roughly'"),
        case("qualifier_contradicting_the_printed_one", "figures",
             "tongliang_vehicle_parts_investment", "qualifier", "exact",
             "'exact' does not match the printed qualifiers '超过'"),
        case("quote_not_on_page", "figures", "yongchuan_vehicles_shipped", "quote",
             "已发运汽车12703辆", "quote not found verbatim in the source page"),
        case("value_its_quote_does_not_state", "figures", "yongchuan_vehicles_shipped",
             "value", "12703", "value 12703 辆 cannot be read back from the quote"),
        case("policy_quote_not_on_page", "policy", "punch_evaluation", "quote",
             "完善“区域评价”", "quote not found verbatim in the source page"),
        case("broken_foreign_key", "figures", "banan_investment_total", "entity_id",
             "jiangbei", "'jiangbei' is not a entity_id in entities.csv"),
        case("entity_pointing_at_another_entitys_figure", "entities", "heshun_centre",
             "investment_figure_id", "maoqiao_investment",
             "figure 'maoqiao_investment' belongs to 'maoqiao_centre'"),
        case("duplicate_id", "figures", "wankaiyun_gdp_growth", "figure_id", "wankaiyun_gdp",
             "duplicate value 'wankaiyun_gdp'"),
        case("empty_required_value", "articles", "tongliang_signings", "headline_zh", "",
             "required value is empty"),
        case("value_outside_the_enum", "entities", "heshun", "kind", "farm",
             "'farm' is not one of"),
        case("exclusion_listing_the_wrong_numbers", "exclusions", "坦克300", "numbers", "30",
             "the context '坦克300' holds the numbers ['300'], not ['30']"),
        case("article_start_not_on_the_page", "articles", "tongliang_signings", "start",
             "铜梁签约72个项目", "start '铜梁签约72个项目' occurs not at all in the source page, "
             "not exactly once"),
        case("article_start_printed_twice", "articles", "tongliang_signings", "start", "10月12日",
             "start '10月12日' occurs 3 times in the source page, not exactly once"),
        case("byline_not_on_the_page", "articles", "tongliang_signings", "byline_printed",
             "首席记者 陈伟灯", "byline not found verbatim in the source page"),
        case("list_item_not_in_its_quote", "lists", "tongliang_storage_firms", "items",
             "海辰、厚生、宁德", "item '宁德' is not in the quote"),
        case("list_items_out_of_order", "lists", "tongliang_storage_firms", "items",
             "厚生、海辰", "item '海辰' is not in the quote"),
        case("open_list_said_closed", "lists", "tongliang_storage_firms", "ends_with_deng",
             "false", "says the list does not end in 等, but the quote prints '等'"),
        case("closed_list_said_open", "lists", "tongliang_value_chain", "ends_with_deng",
             "true", "says the list ends in 等, but the quote prints '”'"),
        case("list_quote_printed_twice", "lists", "tongliang_storage_firms", "quote",
             "本次签约了", "quote '本次签约了' occurs 2 times in the source page"),
        case("list_of_an_unknown_article", "lists", "tongliang_fields", "article_id",
             "tongliang", "'tongliang' is not a article_id in articles.csv"),
    ],
)
def test_corrupted_cell_is_named_by_file_row_and_column(
    data_copy, table, row_id, column, value, message
):
    row = edit_cell(data_copy, table, row_id, column, value)
    assert f"{table}.csv, row {row}, column '{column}': {message}" in load_error(data_copy)


def test_changed_page_names_the_file_and_both_hashes(data_copy):
    page = data_copy / "raw" / "chongqing_daily_page.txt"
    changed = page.read_bytes().replace(b"12702", b"12703")
    page.write_bytes(changed)
    message = load_error(data_copy)
    assert "raw/chongqing_daily_page.txt: SHA-256 mismatch" in message
    assert "records 858932f63320c01b802dba09fb955fb540d87b0a5b534197875e449387053543" in message
    assert f"file has {hashlib.sha256(changed).hexdigest()}" in message


def test_edited_file_is_reloaded_not_served_from_the_cache(data_copy):
    package.load_tables(data_copy)
    time.sleep(0.01)
    edit_cell(data_copy, "figures", "yongchuan_vehicles_shipped", "unit", "亿圆")
    with pytest.raises(DataError, match="unknown unit"):
        package.load_tables(data_copy)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def _set_path(data_dir, name, path):
    import json

    descriptor = data_dir / "datapackage.json"
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    next(r for r in package["resources"] if r["name"] == name)["path"] = path
    descriptor.write_text(json.dumps(package), encoding="utf-8")


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "/etc/passwd", "../figures.csv"])
def test_a_resource_path_leaving_the_data_folder_is_refused_unread(data_copy, path):
    shutil.copy(data_copy / "figures.csv", data_copy.parent / "figures.csv")
    _set_path(data_copy, "figures", path)
    message = load_error(data_copy)
    assert "must be relative and inside the data folder" in message and "root:" not in message


def test_a_link_out_of_the_data_folder_is_refused(data_copy):
    outside = data_copy.parent / "figures.csv"
    shutil.copy(data_copy / "figures.csv", outside)
    (data_copy / "figures.csv").unlink()
    (data_copy / "figures.csv").symlink_to(outside)
    assert "figures.csv: resolves to a file outside the data folder" in load_error(data_copy)


def test_a_column_given_twice_is_refused_naming_it(data_copy):
    path = data_copy / "units.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([r + r[-1:] for r in rows])
    assert "units.csv, header, column 'printed': column given twice" in load_error(data_copy)


@pytest.mark.parametrize("value, message", [
    ("104.8600001", "value 104.8600001 index points cannot be read back"),
    ("104.86000000001", "value 104.86000000001 index points cannot be read back"),
    ("104.86000000000000001", "'104.86000000000000001' has more digits than a number keeps"),
])
def test_a_value_reads_back_from_its_quote_to_the_digits_printed(data_copy, value, message):
    row = edit_cell(data_copy, "figures", "wankaiyun_integration_index", "value", value)
    assert f"figures.csv, row {row}, column 'value': {message}" in load_error(data_copy)


def test_the_value_as_printed_with_trailing_zeros_still_reads_back(data_copy):
    edit_cell(data_copy, "figures", "wankaiyun_integration_index", "value", "104.860")
    package.validate(data_copy)


def test_a_field_over_the_limit_is_refused(data_copy):
    edit_cell(data_copy, "glossary", "永川", "pinyin", "a" * (package.MAX_FIELD_CHARS + 1))
    assert "is longer than the limit" in load_error(data_copy)


def test_a_file_over_the_limit_is_refused_before_it_is_read(data_copy):
    with open(data_copy / "glossary.csv", "a", encoding="utf-8") as handle:
        handle.write("x" * (descriptor.MAX_FILE_BYTES + 1))
    assert "glossary.csv: " in (message := load_error(data_copy)) and "limit" in message
