"""A notebook's parameter declaration as JSON Schema (draft 2020-12): `cqbook params NB --json`.

What the schema holds is what `params.validate` checks on one value: the type, bounds
(`minimum`, `exclusiveMinimum`, ...), choices (`enum`), list lengths (`minItems`/`maxItems`),
the length and characters of text; plus `description` and `default`. JSON Schema cannot
compare dates, so a date's bounds are written twice: as `formatMinimum`/`formatMaximum` (the
keywords of ajv-formats, for a reader) and as a `pattern` any validator enforces (ISO dates
order as text, so "on or after 2000-01-01" is a regular expression over the digits). Rules
between parameters (`above start_date`) are no JSON Schema: they are carried in the
extension keyword `x-cqbook-rules`, on the parameter and, for the whole notebook, at the top.
"""

from __future__ import annotations

import re
from typing import Any

from cqbook.build.params import MAX_STR_LENGTH, Declaration, Parameter, Rule

RULES_KEYWORD = "x-cqbook-rules"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string",
               "date": "string"}
_NUMBER_KEYWORDS = {">=": "minimum", "<=": "maximum", ">": "exclusiveMinimum",
                    "<": "exclusiveMaximum"}
_DATE_KEYWORDS = {">=": "formatMinimum", "<=": "formatMaximum",
                  ">": "formatExclusiveMinimum", "<": "formatExclusiveMaximum"}
_WORDS = {">=": "min", "<=": "max", ">": "above", "<": "below"}
DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
NO_CONTROL_CHARACTERS = r"^[^\u0000-\u001f]*$"


def schema(declaration: Declaration) -> dict[str, Any]:
    properties = {name: _property(p) for name, p in declaration.parameters.items()}
    between = [f"{p.name} {_WORDS[r.op]} {r.operand}" for p in declaration.parameters.values()
               for r in p.rules if r.refers_to_parameter]
    result = {"$schema": DRAFT, "title": f"Parameters of {declaration.notebook}",
              "type": "object", "properties": properties, "additionalProperties": False}
    if between:
        result[RULES_KEYWORD] = between
    return result


def cross_parameter_rules(declaration: Declaration) -> list[str]:
    """`as_of_date above start_date`, ...: what x-cqbook-rules carries for the notebook."""
    return schema(declaration).get(RULES_KEYWORD, [])


def _property(parameter: Parameter) -> dict[str, Any]:
    element = _element(parameter.element_type, parameter.rules)
    if parameter.type.startswith("list["):
        prop: dict[str, Any] = {"type": "array", "items": element}
        for rule in parameter.rules:
            if rule.op == "len":
                prop["minItems"], prop["maxItems"] = rule.operand
    else:
        prop = element
    between = [{"rule": _WORDS[r.op], "parameter": r.operand} for r in parameter.rules
               if r.refers_to_parameter]
    if between:
        prop[RULES_KEYWORD] = between
    return {**prop, "description": parameter.meaning, "default": parameter.default}


def _element(type_name: str, rules: tuple[Rule, ...]) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": _JSON_TYPES[type_name]}
    patterns = []
    if type_name == "date":
        prop["format"] = "date"
        patterns.append(DATE_SHAPE)
    if type_name == "str":
        prop["maxLength"] = MAX_STR_LENGTH
        patterns.append(NO_CONTROL_CHARACTERS)
    for rule in rules:
        if rule.op == "in":
            prop["enum"] = list(rule.operand)
        elif rule.op in _NUMBER_KEYWORDS and not rule.refers_to_parameter:
            if type_name == "date":
                prop[_DATE_KEYWORDS[rule.op]] = rule.operand
                patterns.append(date_range_pattern(rule.op, rule.operand))
            else:
                prop[_NUMBER_KEYWORDS[rule.op]] = rule.operand
    if len(patterns) == 1:
        prop["pattern"] = patterns[0]
    elif patterns:
        prop["allOf"] = [{"pattern": pattern} for pattern in patterns]
    return prop


def date_range_pattern(op: str, bound: str) -> str:
    """A regular expression for the ISO dates `op` (>=, >, <=, <) `bound`: a date is later
    when, at the first digit where it differs, its digit is greater."""
    later = op in (">=", ">")
    alternatives = [_literal(bound)] if op in (">=", "<=") else []
    for index, digit in enumerate(bound):
        if not digit.isdigit():
            continue
        low, high = (int(digit) + 1, 9) if later else (0, int(digit) - 1)
        if low > high:
            continue
        rest = "".join(r"\d" if c.isdigit() else _literal(c) for c in bound[index + 1:])
        alternatives.append(f"{_literal(bound[:index])}[{low}-{high}]{rest}")
    return "^(?:" + "|".join(alternatives) + ")$" if alternatives else "^(?!)$"


def _literal(text: str) -> str:
    """`text` matched literally; `-` unescaped: ECMA-262 (what JSON Schema patterns are, and
    ajv compiles with the `u` flag) refuses `\\-` outside a character class."""
    return "".join(c if c.isalnum() or c == "-" else re.escape(c) for c in text)
