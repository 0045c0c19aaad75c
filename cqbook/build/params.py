"""Notebook parameters: declared once, in the notebook, and checked before any kernel starts.

Each line of a notebook's cell tagged `parameters` declares one parameter:

    as_of_date = "2023-10-11"  # date, above start_date, max 2030-12-31; date of the count

or, in the form papermill documents (its `--help-notebook` then shows the type, the default
and the comment):

    as_of_date: "date" = "2023-10-11"  # above start_date, max 2030-12-31; date of the count

The comment holds the type (unless annotated), then rules, then (after ";") the one-line
meaning; an annotated line without ";" is all meaning. A date is annotated in quotes: the
kernel evaluates a bare annotation when the cell runs, and `date` is not defined there. Types: int,
float, bool, str, date, list[int], list[float], list[str]. Rules: `min X`, `max X` (inclusive),
`above X`, `below X` (strict), with X a literal or the name of another parameter; `in {a, b}`
(choices); `len A..B` (list length). Rules on a list apply to each element. Numbers and dates
must be given both bounds, so a huge or out-of-range value is always refused. (Words, not
`>=`: papermill cannot read a parameter line holding a second "=".)

Values from the command line and from YAML files arrive as text and are read by the declared
type only, never guessed: YAML's `NO`, `01234` or `1e3` cannot silently turn into False, 1234
or 1000.0 for a parameter that is not of that type.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

# A parameter file is a few lines; more is a mistake (or an attack on the YAML parser).
MAX_PARAMETER_FILE_BYTES = 65_536
TYPES = ("int", "float", "bool", "str", "date", "list[int]", "list[float]", "list[str]")
MAX_STR_LENGTH = 200
MAX_NUMBER_LENGTH = 40  # characters of a number or date as written: more is a typo
_COMPARISONS = {"min": ">=", "max": "<=", "above": ">", "below": "<"}
_INT_TEXT = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ParameterError(ValueError):
    """A parameter value or declaration that breaks a rule; the message names both."""


@dataclass(frozen=True)
class Rule:
    op: str  # one of _COMPARISONS, "in", "len"
    operand: Any  # literal, parameter name (for comparisons), tuple of choices, (min, max)
    refers_to_parameter: bool = False

    def describe(self) -> str:
        if self.op == "in":
            return "one of {" + ", ".join(map(str, self.operand)) + "}"
        if self.op == "len":
            return f"between {self.operand[0]} and {self.operand[1]} items"
        return f"{self.op} {self.operand}"


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any
    meaning: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @property
    def element_type(self) -> str:
        return self.type[5:-1] if self.type.startswith("list[") else self.type


@dataclass(frozen=True)
class Declaration:
    """All parameters of one notebook, in the order of its parameters cell."""

    notebook: str
    parameters: dict[str, Parameter]

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}

    def describe(self) -> str:
        lines = [f"Parameters of {self.notebook}:"]
        for p in self.parameters.values():
            rules = ", ".join(r.describe() for r in p.rules)
            default = json.dumps(p.default, ensure_ascii=False)
            lines.append(f"  {p.name} ({p.type}{', ' + rules if rules else ''}) = {default}")
            lines.append(f"      {p.meaning}")
        return "\n".join(lines)


# ---------------------------------------------------------------- reading declarations


def parameters_source(cells: list[dict], where: str) -> str:
    tagged = [c for c in cells if "parameters" in c["tags"]]
    if len(tagged) != 1:
        raise ParameterError(f"{where}: expected one cell tagged 'parameters', found {len(tagged)}")
    return tagged[0]["source"]


def read_declaration(notebook_path: Path) -> Declaration:
    from cqbook.build.notebook_files import NotebookFileError, read_cells_quickly

    try:
        cells = read_cells_quickly(notebook_path)
    except NotebookFileError as error:
        raise ParameterError(str(error)) from None
    return parse_declaration(parameters_source(cells, str(notebook_path)), notebook_path.stem)


def parse_declaration(source: str, notebook: str) -> Declaration:
    parameters: dict[str, Parameter] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{notebook}, parameters cell line {number}"
        code, sep, comment = line.partition("  #")
        if not sep:
            raise ParameterError(f"{where}: declare as `name = default  # type[, rules]; meaning`"
                                 " or `name: type = default  # [rules; ]meaning`")
        name, annotation, default = _assignment(code, where)
        if name in parameters:
            raise ParameterError(f"{where}: `{name}` is declared twice")
        if annotation is None:
            spec, _, meaning = comment.partition(";")
            type_name, *rule_texts = [part.strip() for part in _split_rules(spec)]
        else:
            spec, semicolon, meaning = comment.partition(";")
            if not semicolon:  # papermill's own form: the comment is the help text
                spec, meaning = "", comment
            type_name = annotation
            rule_texts = [part.strip() for part in _split_rules(spec) if part.strip()]
            if rule_texts and rule_texts[0] in TYPES:
                raise ParameterError(f"{where}: `{name}` is annotated `{annotation}`; its "
                                     "comment then holds only rules and meaning")
        if not meaning.strip():
            raise ParameterError(f"{where}: `{name}` has no meaning after ';'")
        if type_name not in TYPES:
            raise ParameterError(f"{where}: `{name}` has unknown type {type_name!r} "
                                 f"(known: {', '.join(TYPES)})")
        rules = tuple(_parse_rule(text, type_name, where) for text in rule_texts)
        parameter = Parameter(name, type_name, default, meaning.strip(), rules)
        _check_declared_bounds(parameter, where)
        parameters[name] = parameter
    declaration = Declaration(notebook, parameters)
    for parameter in parameters.values():
        for rule in parameter.rules:
            if rule.refers_to_parameter and rule.operand not in parameters:
                raise ParameterError(f"{notebook}: rule `{rule.describe()}` of `{parameter.name}`"
                                     " names no declared parameter")
    # The defaults must satisfy their own rules: a notebook that cannot run as committed
    # would otherwise only fail once a kernel is up.
    validate(declaration, {})
    return declaration


def _assignment(code: str, where: str) -> tuple[str, str | None, Any]:
    """(name, annotation or None, default) of `name = default` or `name: type = default`."""
    try:
        body = ast.parse(code.strip()).body
    except SyntaxError as error:
        raise ParameterError(f"{where}: not an assignment ({error.msg})") from None
    statement = body[0] if len(body) == 1 else None
    if isinstance(statement, ast.Assign):
        targets, annotation = statement.targets, None
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets, annotation = [statement.target], _annotation(statement.annotation, where)
    else:
        raise ParameterError(f"{where}: expected one `name = default` assignment")
    if len(targets) != 1 or not isinstance(targets[0], ast.Name):
        raise ParameterError(f"{where}: expected one plain name before `=`")
    name = targets[0].id
    try:
        default = ast.literal_eval(statement.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ParameterError(f"{where}: the default of `{name}` must be a plain value "
                             "(a number, text, true/false or a list of them), not "
                             "an expression") from None
    return name, annotation, default


def _annotation(node: ast.expr, where: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.strip()
    text = ast.unparse(node).replace(" ", "")
    if text == "date":
        # The kernel evaluates a module-level annotation: `x: date = ...` is a NameError.
        raise ParameterError(f'{where}: annotate a date in quotes, `: "date" =`; a bare `date` '
                             "is evaluated when the cell runs, and no `date` is defined there")
    return text


def _split_rules(spec: str) -> list[str]:
    """Split on commas outside `{...}` and `[...]`."""
    parts, depth, current = [], 0, ""
    for char in spec:
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def _parse_rule(text: str, type_name: str, where: str) -> Rule:
    element_type = type_name[5:-1] if type_name.startswith("list[") else type_name
    if text.startswith("in ") and text[3:].strip().startswith("{") and text.endswith("}"):
        choices = tuple(_coerce_scalar(c.strip(), element_type, where)
                        for c in text[3:].strip()[1:-1].split(","))
        return Rule("in", choices)
    if text.startswith("len "):
        low, _, high = text[4:].partition("..")
        if not type_name.startswith("list[") or not (_INT_TEXT.fullmatch(low.strip())
                                                      and _INT_TEXT.fullmatch(high.strip())):
            raise ParameterError(f"{where}: rule {text!r}: `len A..B` takes two whole numbers "
                                 "and applies to a list only")
        return Rule("len", (int(low), int(high)))
    word, _, operand = text.partition(" ")
    if word in _COMPARISONS:
        op, operand = _COMPARISONS[word], operand.strip()
        if _NAME.fullmatch(operand) and element_type != "str":
            return Rule(op, operand, refers_to_parameter=True)
        return Rule(op, _coerce_scalar(operand, element_type, where))
    raise ParameterError(f"{where}: unknown rule {text!r}")


def _check_declared_bounds(parameter: Parameter, where: str) -> None:
    if parameter.element_type in ("int", "float", "date"):
        ops = {r.op for r in parameter.rules}
        if not ({">=", ">", "in"} & ops and {"<=", "<", "in"} & ops):
            raise ParameterError(f"{where}: `{parameter.name}` needs a lower and an upper "
                                 "bound, so that no huge, negative or out-of-range value slips through")
    if parameter.type.startswith("list[") and "len" not in {r.op for r in parameter.rules}:
        raise ParameterError(f"{where}: list `{parameter.name}` needs a `len A..B` rule")


# ---------------------------------------------------------------- reading values


def _coerce_scalar(value: Any, type_name: str, where: str) -> Any:
    """Read one value as `type_name`; text is parsed strictly, typed values are checked."""
    def refuse(why: str) -> ParameterError:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:50] + "…"
        return ParameterError(f"{where}: {shown} is not a valid {type_name}: {why}")

    if type_name in ("int", "float", "date") and len(str(value)) > MAX_NUMBER_LENGTH:
        raise refuse(f"longer than {MAX_NUMBER_LENGTH} characters")

    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise refuse("write true or false")
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise refuse("expected a whole number")
        if isinstance(value, str):
            if not _INT_TEXT.fullmatch(value.strip()):
                raise refuse("expected a whole number written without leading zeros, "
                             "exponent or decimal point")
            return int(value)
        return value
    if type_name == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise refuse("expected a number")
        if isinstance(value, str):
            if value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
                raise refuse("NaN and infinity are not allowed")
            if not _FLOAT_TEXT.fullmatch(value.strip()):
                raise refuse("expected a decimal number such as 0.2 or 1e3")
            value = float(value)
        if not math.isfinite(value):
            raise refuse("NaN and infinity are not allowed")
        return float(value)
    if type_name == "date":
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str) and _DATE_TEXT.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError as error:
                raise refuse(str(error)) from None
        raise refuse("expected an ISO date YYYY-MM-DD")
    if type_name == "str":
        if not isinstance(value, str):
            raise refuse(f"expected text, got {type(value).__name__} "
                         "(in YAML, quote values such as NO, yes, 01234)")
        if len(value) > MAX_STR_LENGTH:
            raise refuse(f"longer than {MAX_STR_LENGTH} characters")
        if any(ord(char) < 32 for char in value):
            raise refuse("control characters (newlines, tabs) are not allowed")
        return value
    raise refuse("unknown type")


def coerce(parameter: Parameter, value: Any, source: str) -> Any:
    where = f"parameter `{parameter.name}` ({source})"
    if parameter.type.startswith("list["):
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = yaml.load(text, Loader=yaml.BaseLoader)
                except yaml.YAMLError as error:
                    raise ParameterError(f"{where}: {value!r} is not a list: {error}") from None
            else:
                value = [item.strip() for item in text.split(",")] if text else []
        if not isinstance(value, list):
            raise ParameterError(f"{where}: {value!r} is not a valid {parameter.type}")
        return [_coerce_scalar(item, parameter.element_type, where) for item in value]
    return _coerce_scalar(value, parameter.type, where)


def _check_rules(parameter: Parameter, value: Any, resolved: dict[str, Any]) -> None:
    elements = value if isinstance(value, list) else [value]
    for rule in parameter.rules:
        if rule.op == "len":
            low, high = rule.operand
            if not low <= len(value) <= high:
                raise ParameterError(f"parameter `{parameter.name}` = {value!r} breaks the rule: "
                                     f"must have {rule.describe()}")
            continue
        for element in elements:
            if rule.op == "in":
                ok = element in rule.operand
            else:
                bound = resolved[rule.operand] if rule.refers_to_parameter else rule.operand
                ok = {">=": element >= bound, "<=": element <= bound,
                      ">": element > bound, "<": element < bound}[rule.op]
            if not ok:
                shown = f"{rule.describe()}" + (f" (= {resolved[rule.operand]!r})"
                                                if rule.refers_to_parameter else "")
                raise ParameterError(f"parameter `{parameter.name}` = {element!r} breaks the "
                                     f"rule: must be {shown}")


def validate(declaration: Declaration, overrides: dict[str, Any],
             source: str = "override") -> dict[str, Any]:
    """Return the full parameter set (defaults + overrides), or raise ParameterError."""
    known = declaration.parameters
    for name in overrides:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise ParameterError(f"{declaration.notebook}: unknown parameter `{name}` ({source})"
                                 f"{hint}; known: {', '.join(known)}")
    resolved = {}
    try:
        for name, parameter in known.items():
            if name in overrides:
                resolved[name] = coerce(parameter, overrides[name], source)
            else:
                resolved[name] = coerce(parameter, parameter.default, "default")
        for name, parameter in known.items():
            try:
                _check_rules(parameter, resolved[name], resolved)
            except ParameterError as error:
                origin = source if name in overrides else "default"
                raise ParameterError(f"{error} (value from {origin})") from None
    except ParameterError as error:
        raise ParameterError(f"{declaration.notebook}: {error}") from None
    return resolved


# ---------------------------------------------------------------- parameter files


class _StrictTextLoader(yaml.BaseLoader):
    """Every scalar as text; a key given twice refused (YAML would silently keep the last
    one, and the reader of the file would believe the first); keys only plain text; no
    anchors or aliases: a few hundred bytes of nested aliases expand to gigabytes (the
    "billion laughs"), and a parameter file has nothing to repeat."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed in a parameters file",
                event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain name, not a list or a mapping",
                    key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"`{key}` is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_parameter_file(path: Path) -> dict[str, Any]:
    """Read a YAML mapping with every scalar kept as text (see the module docstring)."""
    path = Path(path)
    try:
        if not path.is_file():  # a folder, a pipe or /dev/zero would block or never end
            what = "is a folder" if path.is_dir() else (
                "is not a regular file" if path.exists() else "not found")
            raise ParameterError(f"{path}: parameters file {what}")
        if path.stat().st_size > MAX_PARAMETER_FILE_BYTES:
            raise ParameterError(f"{path}: parameters file of {path.stat().st_size:,} bytes is "
                                 f"larger than the limit of {MAX_PARAMETER_FILE_BYTES:,}")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParameterError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ParameterError(f"{path}: parameters file cannot be read "
                             f"({error.strerror or type(error).__name__})") from None
    try:
        content = yaml.load(text, Loader=_StrictTextLoader)
    except yaml.YAMLError as error:
        raise ParameterError(f"{path}: malformed YAML: {_one_line(error)}") from None
    if content is None or content == "":
        raise ParameterError(f"{path}: the parameters file is empty")
    if not isinstance(content, dict):
        raise ParameterError(f"{path}: expected a mapping of name: value, "
                             f"got {type(content).__name__}")
    return content


def _one_line(error: yaml.YAMLError) -> str:
    """PyYAML's message without the quoted excerpt of the file, on one line."""
    problem = getattr(error, "problem", None)
    mark = getattr(error, "problem_mark", None)
    if problem is None:
        return str(error).splitlines()[0][:200]
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return f"{problem}{where}"
