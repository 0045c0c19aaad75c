"""Units, qualifiers and number formatting: the one place where 亿, 万 and 亩 become CNY, m²
and counts, where "超" becomes a lower bound, and where numbers are written for the reader.

Pure Python on purpose: the data loader and every notebook import it, and it must stay cheap.
It also reads numbers as the page prints them (Arabic digits, 万/亿 magnitudes, Chinese
numerals), so that the data tests can check every figure against its own quote.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

YI = 1e8
WAN = 1e4
MU_IN_M2 = 10000 / 15

# unit as printed -> (factor to the base unit, base unit). Units the page does not print
# ("count" for a bare numeral such as 三攻坚, "index points") carry an English key.
UNITS: dict[str, tuple[float, str]] = {
    "元": (1.0, "CNY"),
    "万元": (WAN, "CNY"),
    "亿元": (YI, "CNY"),
    "平方米": (1.0, "m2"),
    "万平方米": (WAN, "m2"),
    "亩": (MU_IN_M2, "m2"),
    "个": (1.0, "count"),
    "辆": (1.0, "count"),
    "家": (1.0, "count"),
    "项": (1.0, "count"),
    "类": (1.0, "count"),
    "count": (1.0, "count"),
    "年": (1.0, "years"),
    "%": (1.0, "percent"),
    "index points": (1.0, "index_points"),
}

# Units that are not written after the number on the page: the read-back accepts any text.
UNPRINTED_UNITS = frozenset({"count", "index points"})

# qualifier as printed -> controlled term. Several may stand before one number ("拟追加投资超"):
# a figure stores them space-separated, in the order printed.
QUALIFIERS: dict[str, str] = {
    "约": "approx",
    "近": "approx",
    "左右": "approx",
    "超": "more_than",
    "超过": "more_than",
    "逾": "more_than",
    "多": "more_than",
    "以上": "at_least",
    "至少": "at_least",
    "不少于": "at_least",
    "内": "at_most",
    "以内": "at_most",
    "不超过": "at_most",
    "不足": "less_than",
    "拟": "planned",
    "计划": "planned",
    "预计": "expected",
    "—": "range",
}

# controlled term -> what it does to the number. Status terms (planned, expected) leave the
# number exact; a range is bounded on both sides by value and value_max.
BOUND_OF: dict[str, str] = {
    "exact": "exact",
    "approx": "approx",
    "more_than": "lower",
    "at_least": "lower",
    "at_most": "upper",
    "less_than": "upper",
    "planned": "exact",
    "expected": "exact",
    "range": "range",
}

# The symbol printed before a number: strict and non-strict bounds stay distinguishable.
SYMBOL: dict[str, str] = {
    "exact": "",
    "planned": "",
    "expected": "",
    "range": "",
    "approx": "≈",
    "lower": "≥",
    "at_least": "≥",
    "more_than": ">",
    "upper": "≤",
    "at_most": "≤",
    "less_than": "<",
}


def to_base(value: float, unit: str) -> float:
    """The value in the unit's base unit (CNY, m2, count, years, percent, index_points)."""
    try:
        factor, _ = UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r} (known: {', '.join(UNITS)})") from None
    return float(value) * factor


def from_base(value: float, unit: str) -> float:
    """The inverse of to_base: a value in the unit's base unit, in `unit` (CNY -> 亿元)."""
    try:
        factor, _ = UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r} (known: {', '.join(UNITS)})") from None
    return float(value) / factor


def to_yi(number: float) -> float:
    """A plain number in 亿 (1e8): CNY 2.3e11 -> 2338 (亿元)."""
    return number / YI


def from_yi(yi: float) -> float:
    """A number given in 亿 as a plain number: 206 (亿元) -> CNY 2.06e10."""
    return yi * YI


def to_wan(number: float) -> float:
    """A plain number in 万 (1e4): 3,697,000 people -> 369.7 (万人)."""
    return number / WAN


def from_wan(wan: float) -> float:
    """A number given in 万 as a plain number: 369.7 (万人) -> 3,697,000."""
    return wan * WAN


def base_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r} (known: {', '.join(UNITS)})")
    return UNITS[unit][1]


def terms_of(qualifier: str) -> list[str]:
    """Controlled terms of a qualifier field: 'planned more_than' -> ['planned', 'more_than'];
    an empty field means the page printed the number plainly."""
    # Printed qualifiers are accepted too, so that Quantity(50, "亿元", "超") means what it says.
    terms = [QUALIFIERS.get(t, t) for t in qualifier.split()] or ["exact"]
    for term in terms:
        if term not in BOUND_OF:
            raise ValueError(f"unknown qualifier {term!r} (known: {', '.join(BOUND_OF)})")
    return terms


def bound_of(qualifier: str) -> str:
    """The single bound a qualifier field implies; at most one term may bound the number."""
    bounds = {BOUND_OF[t] for t in terms_of(qualifier)} - {"exact"}
    if len(bounds) > 1:
        raise ValueError(f"qualifier {qualifier!r} mixes bounds {sorted(bounds)}")
    return bounds.pop() if bounds else "exact"


def _bounding_term(qualifier: str) -> str:
    terms = [t for t in terms_of(qualifier) if BOUND_OF[t] != "exact"]
    return terms[0] if terms else "exact"


@dataclass(frozen=True)
class Quantity:
    """A number as the page states it: value in the printed unit, and its qualifier
    (controlled terms or printed ones, space-separated). A range keeps its upper end in value_max."""

    value: float
    unit: str
    qualifier: str = "exact"
    value_max: float | None = None

    def __post_init__(self):
        base_unit(self.unit)
        if (self.bound == "range") != (self.value_max is not None):
            raise ValueError("value_max is required for a range and only for a range")

    @property
    def base_value(self) -> float:
        return to_base(self.value, self.unit)

    @property
    def base_unit(self) -> str:
        return UNITS[self.unit][1]

    @property
    def bound(self) -> str:
        return bound_of(self.qualifier)

    def limits(self) -> tuple[float | None, float | None]:
        """(lower, upper) in base units; None where the page leaves that side open. An
        approximate number is its own best estimate on both sides, flagged by `bound`."""
        low = self.base_value
        if self.bound == "range":
            return low, to_base(self.value_max, self.unit)
        if self.bound == "lower":
            return low, None
        if self.bound == "upper":
            return None, low
        return low, low

    def format(self, digits: int | None = None) -> str:
        return format_quantity(
            self.value, self.unit, _bounding_term(self.qualifier), digits, self.value_max
        )


def _number(value: float, digits: int | None) -> str:
    if digits is None:
        digits = 0 if float(value).is_integer() else 2
    text = f"{value:,.{digits}f}"
    if "." in text and digits > 0:
        text = text.rstrip("0").rstrip(".")
    return text


def format_quantity(
    value: float,
    unit: str,
    bound: str = "exact",
    digits: int | None = None,
    value_max: float | None = None,
) -> str:
    """'≥ 50 亿元', '≈ 25 亿元', '12,702 辆', '200–300 家'. `bound` is a bound ('lower') or a
    controlled term ('more_than' prints '>')."""
    if bound not in SYMBOL:
        raise ValueError(f"unknown bound {bound!r} (known: {', '.join(SYMBOL)})")
    number = _number(value, digits)
    if value_max is not None:
        number = f"{number}–{_number(value_max, digits)}"
    shown_unit = {"count": "", "index points": "points"}.get(unit, unit)
    spacer = "" if shown_unit == "%" else " "
    text = f"{number}{spacer}{shown_unit}".strip()
    return f"{SYMBOL[bound]} {text}" if SYMBOL[bound] else text


def format_cny(yuan: float, bound: str = "exact", digits: int | None = None) -> str:
    """'≥ 50 亿元 (≥ CNY 5.0 bn)': the Chinese magnitude the page would use, then English."""
    if abs(yuan) >= YI:
        chinese = format_quantity(yuan / YI, "亿元", bound, digits)
    elif abs(yuan) >= 100 * WAN:  # below 百万 the page writes plain 元 (63242元)
        chinese = format_quantity(yuan / WAN, "万元", bound, digits)
    else:
        chinese = format_quantity(yuan, "元", bound, digits)
    if abs(yuan) >= 1e9:
        english = f"CNY {yuan / 1e9:,.1f} bn"
    elif abs(yuan) >= 1e6:
        english = f"CNY {yuan / 1e6:,.1f} m"
    else:
        english = f"CNY {_number(yuan, 0)}"
    symbol = SYMBOL[bound]
    return f"{chinese} ({symbol + ' ' if symbol else ''}{english})"


def _significant(value: float, figures: int = 3) -> str:
    """`value` to `figures` significant digits, thousands separated, no trailing zeros."""
    if value == 0:
        return "0"
    digits = max(0, figures - 1 - math.floor(math.log10(abs(value))))
    return _number(round(value, digits), digits)


def _cny_english(yuan: float) -> str:
    """'CNY 556 m', 'CNY 17.8 bn', 'CNY 63,242': amounts as an English reader writes them."""
    if abs(yuan) >= 1e9:
        return f"CNY {_significant(yuan / 1e9)} bn"
    if abs(yuan) >= 1e6:
        return f"CNY {_significant(yuan / 1e6)} m"
    return f"CNY {_number(round(yuan), 0)}"


def _people_english(people: float) -> str:
    if abs(people) >= 1e6:
        return f"{_significant(people / 1e6)} million people"
    return f"{_number(round(people), 0)} people"


# unit as printed -> its value in English, for magnitudes an English reader cannot read
# (亿, 万) and for yuan. Units not listed here need no gloss.
ENGLISH_OF: dict[str, object] = {
    "元": _cny_english,
    "万元": lambda v: _cny_english(v * WAN),
    "亿元": lambda v: _cny_english(v * YI),
    "万人": lambda v: _people_english(v * WAN),
    "元/平方米": lambda v: f"{_cny_english(v)} per m²",
    "万元/亩": lambda v: f"{_cny_english(v * WAN)} per mu",
}


def format_bilingual(value: float, unit: str, bound: str = "exact",
                     digits: int | None = None) -> str:
    """format_quantity, followed by the English of a Chinese magnitude where the unit has one:
    '5.56 亿元 (CNY 556 m)', '< 6.78 亿元 (< CNY 678 m)', '≈ 369.7 万人 (≈ 3.7 million people)'."""
    text = format_quantity(value, unit, bound, digits)
    english = ENGLISH_OF.get(unit)
    if english is None:
        return text
    symbol = SYMBOL[bound]
    return f"{text} ({symbol + ' ' if symbol else ''}{english(value)})"


# --- reading numbers as printed -------------------------------------------------------------

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": WAN, "亿": YI}
CHINESE_NUMERALS = "".join(_DIGITS) + "".join(_SMALL) + "".join(_BIG)

# An Arabic number with an optional 万/亿 magnitude ("2338.16亿", "1万"), or a run of Chinese
# numerals ("二十", "六", "亿" as in 亿元以上 = one 亿). 双/俩 are left out: on this page 双
# only appears in 双城 (twin cities), a name.
NUMBER_RE = re.compile(rf"\d+(?:\.\d+)?[万亿]*|[{CHINESE_NUMERALS}]+")
_RANGE_DASHES = "—–-~～至到"
_PRINTED_UNITS = sorted((u for u in UNITS if u not in UNPRINTED_UNITS), key=len, reverse=True)
_SUFFIX_UNITS = sorted({u.lstrip("万亿") for u in _PRINTED_UNITS}, key=len, reverse=True)


def parse_number(token: str) -> float:
    """'12702' -> 12702, '2338.16亿' -> 2.33816e11, '二十' -> 20, '亿' -> 1e8."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([万亿]*)", token)
    if match:
        value = float(match.group(1))
        for char in match.group(2):
            value *= _BIG[char]
        return value
    if not token or any(c not in CHINESE_NUMERALS for c in token):
        raise ValueError(f"not a number: {token!r}")
    return _parse_chinese(token)


def _parse_chinese(token: str) -> float:
    # Split at the largest magnitude first, so that 万亿 is 1e12 and 三千五百万 is 3.5e7.
    for char in "亿万":
        if char in token:
            left, right = token.split(char, 1)
            return (_parse_chinese(left) or 1) * _BIG[char] + _parse_chinese(right)
    total, digit = 0.0, None
    for char in token:
        if char in _DIGITS:
            digit = _DIGITS[char]
        else:
            total += (1 if digit is None else digit) * _SMALL[char]
            digit = None
    return total + (digit or 0)


@dataclass(frozen=True)
class Reading:
    """One number found in a text: its span, its value (magnitude included) and the unit
    printed right after it, if any ('元' after '20亿' is read as 20亿 元)."""

    start: int
    end: int
    token: str
    number: float
    unit: str | None


def read_numbers(text: str) -> list[Reading]:
    readings = []
    matches = list(NUMBER_RE.finditer(text))
    for i, match in enumerate(matches):
        rest = text[match.end():]
        unit = next((u for u in _SUFFIX_UNITS if rest.startswith(u)), None)
        # "200—300家": the lower end of a range borrows the unit printed after the upper end.
        if unit is None and rest[:1] and rest[0] in _RANGE_DASHES and i + 1 < len(matches):
            following = matches[i + 1]
            if following.start() == match.end() + 1:
                after = text[following.end():]
                unit = next((u for u in _SUFFIX_UNITS if after.startswith(u)), None)
        readings.append(
            Reading(match.start(), match.end(), match.group(), parse_number(match.group()), unit)
        )
    return readings


def reads_back(reading: Reading, value: float, unit: str) -> bool:
    """True if this printed number, with the unit printed after it, states value in unit
    exactly, to the digits printed: 104.8600001 does not read back from 104.86."""
    if unit in UNPRINTED_UNITS:
        return reading.unit is None and exact_number(reading.token) == _exact(value)
    if reading.unit is None or base_unit(reading.unit) != base_unit(unit):
        return False
    printed = exact_number(reading.token) * _exact_factor(reading.unit)
    return printed == _exact(value) * _exact_factor(unit)


# 亩 is 10000/15 m², which no float holds; every other factor is a power of ten.
_EXACT_FACTORS = {"亩": Fraction(10000, 15)}


def _exact_factor(unit: str) -> Fraction:
    return _EXACT_FACTORS.get(unit, Fraction(UNITS[unit][0]))


def _exact(value: float) -> Fraction:
    """The decimal a float was written as (its shortest repr), not its binary value: 104.86
    read from a CSV is 104.86, so that it compares equal to the printed 104.86."""
    return Fraction(repr(float(value)))


def exact_number(token: str) -> Fraction:
    """parse_number without rounding: '2338.16亿' -> Fraction(233816000000)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([万亿]*)", token)
    if not match:
        return Fraction(int(parse_number(token)))  # Chinese numerals: whole numbers
    number = Fraction(match.group(1))
    for char in match.group(2):
        number *= int(_BIG[char])
    return number
