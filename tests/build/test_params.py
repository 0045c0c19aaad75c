"""Parameter declarations and values: every kind of bad value is refused with a message
naming the parameter, the value and the rule."""

import os
import re
from datetime import date
from pathlib import Path
from unittest import mock

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


# ---------------------------------------------------------------- papermill's annotated form


ANNOTATED = Path(__file__).parents[1] / "fixtures" / "param_notebooks"


@pytest.mark.parametrize("annotated, commented", [
    ('n: int = 3  # min 1, max 9; how many', 'n = 3  # int, min 1, max 9; how many'),
    ('d: "date" = "2023-01-02"  # min 2000-01-01, max 2030-12-31; a day',
     'd = "2023-01-02"  # date, min 2000-01-01, max 2030-12-31; a day'),
    ("xs: list[float] = [0.5]  # above 0, below 1, len 1..3; shares",
     "xs = [0.5]  # list[float], above 0, below 1, len 1..3; shares"),
    ('label: str = "x"  # the label printed', 'label = "x"  # str; the label printed'),
    ("flag: 'bool' = False  # whether to print", "flag = False  # bool; whether to print"),
])
def test_papermills_annotated_form_declares_what_the_comment_form_does(annotated, commented):
    assert parse_declaration(annotated, "demo") == parse_declaration(commented, "demo")


@pytest.mark.parametrize("line, problem", [
    ('d: date = "2023-01-02"  # min 2000-01-01, max 2030-12-31; a day', "annotate a date in quotes"),
    ("n: int = 3  # how many", "needs a lower and an upper bound"),
    ("n: int = 3  # int, min 1, max 9; how many", "annotated `int`"),
    ("n: integer = 3  # min 1, max 9; how many", "unknown type 'integer'"),
    ("n: int  # min 1, max 9; how many", "one `name = default` assignment"),
])
def test_bad_annotated_declarations_are_refused(line, problem):
    with pytest.raises(ParameterError, match=re.escape(problem)):
        parse_declaration(line, "demo")


# ---------------------------------------------------------------- JSON Schema


def every_declaration():
    from cqbook.build.notebook_files import notebook_files
    from cqbook.build.params import read_declaration
    from cqbook.paths import NOTEBOOKS_DIR

    paths = {**notebook_files(NOTEBOOKS_DIR), **notebook_files(ANNOTATED),
             **notebook_files(Path(__file__).parents[1] / "fixtures" / "notebooks")}
    return {name: read_declaration(path) for name, path in sorted(paths.items())}


DECLARATIONS = every_declaration()


def validator(declaration):
    import jsonschema

    from cqbook.build.param_schema import schema

    document = schema(declaration)
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(
        document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("notebook", sorted(DECLARATIONS))
def test_json_schema_accepts_the_declared_defaults(notebook):
    declaration = DECLARATIONS[notebook]
    validator(declaration).validate(declaration.defaults())
    assert validator(declaration).is_valid({})  # every parameter has a default


def _beyond(value, rule_op: str, element_type: str):
    """The nearest value on the wrong side of bound `value` for `rule_op`."""
    import math
    from datetime import timedelta

    step = -1 if rule_op == ">=" else 1
    if rule_op in (">", "<"):
        return value
    if element_type == "date":
        return (date.fromisoformat(value) + timedelta(days=step)).isoformat()
    if element_type == "float":
        return math.nextafter(value, step * math.inf)
    return value + step


def one_value_rule_cases():
    """(notebook, parameter, rule, a value breaking only that rule's kind) for every rule on
    one value of every declared parameter."""
    cases = []
    for notebook, declaration in DECLARATIONS.items():
        for parameter in declaration.parameters.values():
            for rule in parameter.rules:
                if rule.refers_to_parameter:
                    continue
                if rule.op == "len":
                    item = parameter.default[0] if parameter.default else "a"
                    bad = [item] * (rule.operand[1] + 1)
                else:
                    if rule.op == "in":
                        element = ("not " + "/".join(map(str, rule.operand))
                                   if parameter.element_type == "str"
                                   else max(rule.operand) + 1)
                    else:
                        element = _beyond(rule.operand, rule.op, parameter.element_type)
                    bad = ([element] + parameter.default[1:] if isinstance(parameter.default, list)
                           else element)
                cases.append(pytest.param(notebook, parameter.name, bad,
                                          id=f"{notebook}-{parameter.name}-{rule.describe()}"))
    return cases


@pytest.mark.parametrize("notebook, name, bad", one_value_rule_cases())
def test_json_schema_refuses_what_the_command_line_refuses(notebook, name, bad):
    declaration = DECLARATIONS[notebook]
    with pytest.raises(ParameterError):
        validate(declaration, {name: bad})
    assert not validator(declaration).is_valid({name: bad}), (name, bad)


def test_json_schema_carries_types_bounds_choices_lengths_and_meanings():
    from cqbook.build.param_schema import schema

    document = schema(DECLARATIONS["annotated"])
    properties = document["properties"]
    assert properties["vehicles_shipped"] == {
        "type": "integer", "minimum": 1, "maximum": 10_000_000,
        "description": "vehicles shipped by the as-of date", "default": 12702}
    assert properties["growth"]["exclusiveMinimum"] == -1
    assert properties["growth"]["exclusiveMaximum"] == 5
    assert properties["scenarios"]["minItems"] == 1 and properties["scenarios"]["maxItems"] == 6
    assert properties["scenarios"]["items"]["exclusiveMinimum"] == -100
    assert properties["label"]["enum"] == ["base", "low", "high"]
    assert properties["start_date"]["formatMinimum"] == "2000-01-01"
    assert properties["inclusive"]["type"] == "boolean"
    assert document["additionalProperties"] is False
    # Rules between parameters: in the extension keyword, on the parameter and at the top.
    assert properties["as_of_date"]["x-cqbook-rules"] == [{"rule": "above",
                                                           "parameter": "start_date"}]
    assert document["x-cqbook-rules"] == ["start_date below as_of_date",
                                          "as_of_date above start_date"]
    assert not validator(DECLARATIONS["annotated"]).is_valid({"unknown": 1})


@pytest.mark.parametrize("text, accepted", [
    ("2000-01-01", True), ("1999-12-31", False), ("2035-12-31", True), ("2036-01-01", False),
    ("2023-02-30", False), ("20231011", False), ("2023-1-1", False)])
def test_a_dates_bounds_and_validity_are_enforced_by_any_validator(text, accepted):
    annotated = DECLARATIONS["annotated"]
    checked = validator(annotated)
    assert checked.is_valid({"start_date": text} if text < "2030" else {"as_of_date": text}) \
        is accepted


def test_params_json_and_help_on_the_command_line():
    import json
    import subprocess
    import sys

    from cqbook.paths import REPO_ROOT

    shown = subprocess.run([sys.executable, "-m", "cqbook", "params", "yongchuan", "--json"],
                           cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    document = json.loads(shown)
    assert document["properties"]["vehicles_shipped"]["maximum"] == 10_000_000
    assert "as_of_date above start_date" in document["x-cqbook-rules"]
    helped = subprocess.run([sys.executable, "-m", "cqbook", "params", "--help"],
                            cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    assert "--json" in helped and "x-cqbook-rules" in helped
    assert "yongchuan: start_date below as_of_date; as_of_date above start_date" in helped


@pytest.mark.parametrize("notebook", sorted(DECLARATIONS))
def test_papermills_help_notebook_shows_the_same_names_and_help(notebook, tmp_path):
    """papermill reads `.ipynb` only: the text form converted by jupytext, as a user would
    (`jupytext --to ipynb NB.md -o - | papermill --help-notebook -`). papermill's own command
    line, run in this process (click's runner) rather than in a new one: its start-up alone
    is 1.8 s of CPU, ten times over."""
    import jupytext
    from click.testing import CliRunner
    from papermill.cli import papermill

    from cqbook.build.notebook_files import notebook_files
    from cqbook.paths import NOTEBOOKS_DIR

    paths = {**notebook_files(NOTEBOOKS_DIR), **notebook_files(ANNOTATED),
             **notebook_files(Path(__file__).parents[1] / "fixtures" / "notebooks")}
    converted = tmp_path / f"{notebook}.ipynb"
    jupytext.write(jupytext.read(paths[notebook]), converted, fmt="ipynb")
    # papermill's command line sets PYDEVD_DISABLE_FILE_VALIDATION in its process: taken back,
    # or every later command of this worker differs from its zygote and is not forked.
    with mock.patch.dict(os.environ):
        result = CliRunner().invoke(papermill, ["--help-notebook", str(converted)])
    assert result.exit_code == 0, result.output
    helped = result.output
    listed = re.findall(r"^  (\w+): (.+?) \(default", helped, flags=re.MULTILINE)
    declaration = DECLARATIONS[notebook]
    assert [name for name, _ in listed] == list(declaration.parameters)
    for parameter in declaration.parameters.values():
        assert parameter.meaning in " ".join(helped.split()), parameter.name
