"""The Fellegi-Sunter comparisons of the linkage, as ordered SQL levels for Splink on DuckDB.

Each comparison is a list of levels tried in order; the first level whose condition holds
is the pair's agreement pattern for that field, and EM training learns how much each level
says about "same person". The levels are written so that a kind of typing error lands on its
own level: a homophone is not weighed like a different name, a swapped month and day not
like a different birth date.

DuckDB's own edit distances count bytes, and a Chinese character is three bytes in UTF-8,
so the one-character edits of names are spelled out over characters here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import block_on
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from hub.linkage.spec import FieldSpec, LinkageSpec, LinkageSpecInvalid


@dataclass(frozen=True)
class Level:
    """One agreement level: its SQL condition over `<column>_l` / `<column>_r`, and a label."""

    label: str
    sql: str
    zh: str = ""
    """The level as the review page says it."""


def _one_substitution(col: str) -> str:
    left, right = f'"{col}_l"', f'"{col}_r"'
    differs = f"CASE WHEN substring({left}, i, 1) <> substring({right}, i, 1) THEN 1 ELSE 0 END"
    return (f"length({left}) = length({right}) AND "
            f"list_sum(list_transform(range(1, length({left}) + 1), lambda i: {differs})) = 1")


def _one_deletion(longer: str, shorter: str) -> str:
    return (
        f"length({longer}) = length({shorter}) + 1 AND list_bool_or(list_transform("
        f"range(1, length({longer}) + 1), lambda i: "
        f"substring({longer}, 1, i - 1) || substring({longer}, i + 1) = {shorter}))"
    )


def one_character_apart(col: str) -> str:
    """The two values differ by one character substituted, dropped or inserted."""
    left, right = f'"{col}_l"', f'"{col}_r"'
    return (f"(({_one_substitution(col)}) OR ({_one_deletion(left, right)})"
            f" OR ({_one_deletion(right, left)}))")


NAME_LEVELS = (
    Level("same name (after simplified forms, spaces and middle dots)",
          '"name_simplified_l" = "name_simplified_r"', "姓名相同"),
    Level("similar-shape character", '"name_shape_l" = "name_shape_r"', "形近字"),
    Level("same pinyin (homophone)", '"name_pinyin_l" = "name_pinyin_r"', "同音字"),
    Level("same surname, one character of the given name dropped, added or changed",
          f'"surname_l" = "surname_r" AND {one_character_apart("name_simplified")}',
          "同姓，名字差一个字"),
    Level("same given name, different surname", '"given_l" = "given_r"', "名同姓不同"),
)

def birth_levels(col: str, as_date: str = "CAST({side} AS DATE)",
                 date_col: str | None = None) -> tuple[Level, ...]:
    """Birth dates as YYYYMMDD text in `col`; `date_col` (ISO dates) when the record has it."""
    left, right = f'"{col}_l"', f'"{col}_r"'
    day_l, day_r = (f'"{date_col}_l"', f'"{date_col}_r"') if date_col else (left, right)
    if date_col is None:
        as_date = "TRY_STRPTIME({side}, '%Y%m%d')"
    return (
        Level("same birth date", f"{left} = {right}", "出生日期相同"),
        Level("month and day swapped",
              f"substring({left}, 1, 4) = substring({right}, 1, 4) AND "
              f"substring({left}, 5, 2) = substring({right}, 7, 2) AND "
              f"substring({left}, 7, 2) = substring({right}, 5, 2)", "月日颠倒"),
        Level("one digit wrong", f"hamming({left}, {right}) = 1", "错一位数字"),
        Level("lunar and solar calendars mixed (within 60 days, or the year off by one)",
              f"abs(date_diff('day', {as_date.format(side=day_l)}, {as_date.format(side=day_r)}))"
              f" <= 60 OR (substring({left}, 5, 4) = substring({right}, 5, 4) AND "
              f"abs(CAST(substring({left}, 1, 4) AS INTEGER) - "
              f"CAST(substring({right}, 1, 4) AS INTEGER)) = 1)", "农历公历混用"),
    )


BIRTH_LEVELS = birth_levels("birth_digits", date_col="birth_date")

ADDRESS_LEVELS = (
    Level("same address", '"address_normal_l" = "address_normal_r"', "地址相同"),
    Level("same flat, road written differently",
          '"address_dwelling_l" = "address_dwelling_r" AND '
          'jaccard("address_normal_l", "address_normal_r") >= 0.6', "同一户，写法不同"),
    Level("same road and door number", '"address_road_l" = "address_road_r"', "同路同门牌"),
)

PHONE_LEVELS = (
    Level("same phone", '"phone_l" = "phone_r"', "电话相同"),
    Level("same last eight digits", '"phone_tail_l" = "phone_tail_r"', "电话后八位相同"),
)

PLACE_LEVELS = (
    Level("same grid cell", '"grid_code_l" = "grid_code_r"', "同一网格"),
    Level("same community", '"community_code_l" = "community_code_r"', "同一社区"),
)


def _custom(field: FieldSpec, null_column: str, levels: tuple[Level, ...]) -> ComparisonCreator:
    built: list[ComparisonLevelCreator] = [
        cll.CustomLevel(level.sql, label_for_charts=level.label) for level in levels]
    if field.m is not None:
        if len(field.m) != len(built) + 1:
            raise LinkageSpecInvalid(f"field {field.name}", f"{len(field.m)} m-probabilities "
                                     f"for {len(built) + 1} levels")
        built = [level.configure(m_probability=m) for level, m in zip(built, field.m,
                                                                      strict=False)]
    else_level: ComparisonLevelCreator = cll.ElseLevel()
    if field.m is not None:
        else_level = else_level.configure(m_probability=field.m[-1])
    if field.term_frequencies:
        # The first level is exact agreement on the field's column: weigh it by rarity.
        built[0] = built[0].configure(tf_adjustment_column=field.column,
                                      tf_adjustment_weight=1.0)
    return cl.CustomComparison(
        output_column_name=field.name,
        comparison_description=field.name,
        comparison_levels=[cll.NullLevel(null_column), *built, else_level],
    )


def string_levels(col: str) -> tuple[Level, ...]:
    """A free-text field in Latin letters or digits: typos, then near spellings."""
    left, right = f'"{col}_l"', f'"{col}_r"'
    return (
        Level("same", f"{left} = {right}"),
        Level("one edit apart", f"damerau_levenshtein({left}, {right}) <= 1"),
        Level("two edits apart", f"damerau_levenshtein({left}, {right}) <= 2"),
        Level("similar (Jaro-Winkler at least 0.9)",
              f"jaro_winkler_similarity({left}, {right}) >= 0.9"),
    )


def field_levels(field: FieldSpec) -> tuple[Level, ...]:
    """The levels of a declared field, first (closest) to last, without the null and else
    levels: Splink numbers them n (first) down to 1, else 0, missing -1."""
    return {
        "chinese_name": NAME_LEVELS, "birth_date": BIRTH_LEVELS,
        "chinese_address": ADDRESS_LEVELS, "phone": PHONE_LEVELS, "place": PLACE_LEVELS,
        "exact": (Level("same", "", "相同"),), "string": string_levels(field.column),
        "digits_date": birth_levels(field.column),
    }[field.kind]


MISSING_LEVEL = Level("missing on either side", "", "一方缺失")
ELSE_LEVEL = Level("different", "", "不同")


def level_of(field: FieldSpec, gamma: int) -> Level:
    """The level a pair's comparison vector value stands for."""
    levels = field_levels(field)
    if gamma < 0:
        return MISSING_LEVEL
    if gamma == 0:
        return ELSE_LEVEL
    return levels[len(levels) - gamma]


# A comparison kind builds the Splink comparison of one declared field.
BUILDERS: dict[str, Callable[[FieldSpec], ComparisonCreator]] = {
    "chinese_name": lambda f: _custom(f, "name_simplified", NAME_LEVELS),
    "birth_date": lambda f: _custom(f, "birth_digits", BIRTH_LEVELS),
    "chinese_address": lambda f: _custom(f, "address_normal", ADDRESS_LEVELS),
    "phone": lambda f: _custom(f, "phone", PHONE_LEVELS),
    "place": lambda f: _custom(f, "community_code", PLACE_LEVELS),
    "exact": lambda f: _custom(f, f.column, (Level("same", f'"{f.column}_l" = "{f.column}_r"'),)),
    "string": lambda f: _custom(f, f.column, string_levels(f.column)),
    "digits_date": lambda f: _custom(f, f.column, birth_levels(f.column)),
}


def comparisons(spec: LinkageSpec) -> list[ComparisonCreator]:
    """The Splink comparisons of a spec, in the order of its fields."""
    return [BUILDERS[field.kind](field) for field in spec.fields]


def rules(spec_rules: tuple[tuple[str, ...], ...]) -> list[Any]:
    """Splink rules from a spec's; typed loosely because Splink's methods each declare
    their own list type of rules (lists are invariant)."""
    return [block_on(*rule) for rule in spec_rules]
