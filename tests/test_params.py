"""Parameter declarations and values: every kind of bad value is refused with a message
naming the parameter, the value and the rule."""

import re
from datetime import date
from pathlib import Path

import pytest

from cqbook.build.params import ParameterError, parse_declaration, read_parameter_file, validate

CELL = '''\
start_date = "2023-04-28"  # date, min 2000-01-01, max 2030-12-31; first day counted
as_of_date = "2023-10-11"  # date, above start_date, max 2030-12-31; day of the count
vehicles_shipped = 12702  # int, min 0, max 10000000; vehicles shipped by as_of_date
growth = 0.2  # float, min -0.9, max 5; change of the daily rate
scenarios = [-0.2, 0.0, 0.2]  # list[float], min -0.9, max 5, len 1..6; rate changes
label = "base"  # str, in {base, low, high}; which scenario is drawn
note = "page"  # str; free text shown under the chart
show_table = True  # bool; whether to print the table
'''


@pytest.fixture
def declaration():
    return parse_declaration(CELL, "demo")


def refused(declaration, **overrides) -> str:
    with pytest.raises(ParameterError) as caught:
        validate(declaration, overrides)
    return str(caught.value)


def test_defaults_resolve_to_typed_values(declaration):
    resolved = validate(declaration, {})
    assert resolved == {"start_date": "2023-04-28", "as_of_date": "2023-10-11",
                        "vehicles_shipped": 12702, "growth": 0.2, "scenarios": [-0.2, 0.0, 0.2],
                        "label": "base", "note": "page", "show_table": True}


def test_text_values_are_read_by_declared_type(declaration):
    resolved = validate(declaration, {"vehicles_shipped": "13702", "growth": "1e-1",
                                      "scenarios": "-0.1, 0.3", "show_table": "false",
                                      "note": "01234", "as_of_date": date(2023, 12, 31)})
    assert resolved["vehicles_shipped"] == 13702
    assert resolved["growth"] == pytest.approx(0.1)
    assert resolved["scenarios"] == [-0.1, 0.3]
    assert resolved["show_table"] is False
    assert resolved["note"] == "01234"  # text stays text, leading zero kept
    assert resolved["as_of_date"] == "2023-12-31"


def test_unknown_parameter_names_the_closest_known_one(declaration):
    message = refused(declaration, vehicle_shipped="1")
    assert "unknown parameter `vehicle_shipped`" in message
    assert "did you mean `vehicles_shipped`" in message
    assert "start_date" in message  # the known ones are listed


@pytest.mark.parametrize("value, why", [
    ("12.5", "whole number"), ("01234", "leading zeros"), ("1e3", "exponent"),
    ("twelve", "whole number"), (True, "whole number"), (12.0, "whole number")])
def test_int_refuses_what_is_not_plainly_a_whole_number(declaration, value, why):
    message = refused(declaration, vehicles_shipped=value)
    assert "vehicles_shipped" in message and repr(value) in message and why in message


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", float("nan"), float("inf")])
def test_float_refuses_nan_and_infinity(declaration, value):
    assert "NaN and infinity" in refused(declaration, growth=value)


@pytest.mark.parametrize("name, value, rule", [
    ("vehicles_shipped", "-1", ">= 0"), ("vehicles_shipped", "99999999999", "<= 10000000"),
    ("growth", "6", "<= 5"), ("scenarios", "0.1, 7", "<= 5"),
    ("as_of_date", "2031-01-01", "<= 2030-12-31"), ("label", "middle", "one of {base")])
def test_out_of_range_names_parameter_value_and_rule(declaration, name, value, rule):
    message = refused(declaration, **{name: value})
    assert f"`{name}`" in message and rule in message


def test_end_date_before_start_date_is_refused_naming_both(declaration):
    message = refused(declaration, as_of_date="2023-01-01")
    assert "`as_of_date` = '2023-01-01'" in message
    assert "> start_date (= '2023-04-28')" in message


@pytest.mark.parametrize("value", ["2023-02-30", "11/10/2023", "2023-1-5", 20231011])
def test_malformed_dates_are_refused(declaration, value):
    assert "valid date" in refused(declaration, as_of_date=value)


def test_list_length_rule(declaration):
    assert "between 1 and 6 items" in refused(declaration, scenarios="")


@pytest.mark.parametrize("value", [False, 123, "x" * 201, "line\nbreak"])
def test_str_refuses_non_text_long_text_and_control_characters(declaration, value):
    assert "`note`" in refused(declaration, note=value)


def test_code_like_text_is_accepted_as_a_plain_value(declaration):
    value = '"; import os; os.system("echo pwned") #'
    assert validate(declaration, {"note": value})["note"] == value


@pytest.mark.parametrize("line, problem", [
    ('x = 1  # int; no bounds', "needs a lower and an upper bound"),
    ('x = 1  # integer, min 0, max 2; bad type', "unknown type 'integer'"),
    ('x = 1  # int, min 0, max 2', "has no meaning"),
    ('x = 1', "declare as"),
    ('x = [1]  # list[int], min 0, max 2; no length', "needs a `len A..B` rule"),
    ('x = 1  # int, min 0, max y; y is not declared', "names no declared parameter"),
    ('x = 5  # int, min 0, max 2; default breaks its rule', "must be <= 2"),
])
def test_bad_declarations_are_refused(line, problem):
    with pytest.raises(ParameterError, match=problem.replace("[", r"\[").replace("`", "`")):
        parse_declaration(line, "demo")


def test_yaml_file_keeps_scalars_as_text(tmp_path, declaration):
    path = tmp_path / "p.yml"
    path.write_text("note: NO\nvehicles_shipped: 01234\ngrowth: 1e3\nas_of_date: 2023-12-31\n")
    values = read_parameter_file(path)
    assert values == {"note": "NO", "vehicles_shipped": "01234", "growth": "1e3",
                      "as_of_date": "2023-12-31"}
    # NO stays the text "NO"; 01234 is refused for an int rather than read as 1234.
    assert "leading zeros" in refused(declaration, **values)


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"), (b"a: [1, 2\n", "malformed YAML"), (b"\xff\xfe\x00", "not UTF-8"),
    (b"- a\n- b\n", "expected a mapping"),
    (b"a: 1\nb: 2\na: 3\n", "`a` is given twice"),
    (b"nb:\n  x: 1\n  x: 2\n", "`x` is given twice"),
    (b"a: &x 1\nb: *x\n", "anchors and aliases"),
    (b"a: &x 1\n", "anchors and aliases"),
    (b"? [a, b]\n: 1\n", "a key must be a plain name"),
    (b"? {a: 1}\n: 1\n", "a key must be a plain name"),
    (b"# pad\n" * 20_000, "larger than the limit")])
def test_bad_parameter_files_are_refused(tmp_path, content, problem):
    path = tmp_path / "p.yml"
    path.write_bytes(content)
    with pytest.raises(ParameterError, match=problem) as caught:
        read_parameter_file(path)
    assert str(path) in str(caught.value)


def test_a_parameter_file_that_is_no_file_is_refused(tmp_path):
    for path, problem in [(tmp_path, "is a folder"), (Path("/dev/zero"), "not a regular file"),
                          (tmp_path / "missing.yml", "not found")]:
        with pytest.raises(ParameterError, match=problem):
            read_parameter_file(path)


@pytest.mark.parametrize("line, problem", [
    ("x = 1 + 1  # int, min 0, max 3; m", "must be a plain value"),
    ("x.y = 1  # int, min 0, max 3; m", "one plain name before `=`"),
    ("x = 1  # int, len 1..3, min 0, max 3; m", "applies to a list only"),
    ("x = [1]  # list[int], len 1..y, min 0, max 3; m", "takes two whole numbers"),
    ("x = 1  # int, min 0, max 3; m\nx = 2  # int, min 0, max 3; m", "declared twice"),
])
def test_declarations_that_once_raised_a_traceback_are_refused(line, problem):
    with pytest.raises(ParameterError, match=re.escape(problem)):
        parse_declaration(line, "demo")


def test_a_number_too_long_to_read_is_refused_not_parsed(declaration):
    assert "longer than 40 characters" in refused(declaration, vehicles_shipped="9" * 5000)
