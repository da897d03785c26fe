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

from dataclasses import dataclass

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator


@dataclass(frozen=True)
class Level:
    """One agreement level: its SQL condition over `<column>_l` / `<column>_r`, and a label."""

    label: str
    sql: str


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
          '"name_simplified_l" = "name_simplified_r"'),
    Level("similar-shape character", '"name_shape_l" = "name_shape_r"'),
    Level("same pinyin (homophone)", '"name_pinyin_l" = "name_pinyin_r"'),
    Level("same surname, one character of the given name dropped, added or changed",
          f'"surname_l" = "surname_r" AND {one_character_apart("name_simplified")}'),
    Level("same given name, different surname", '"given_l" = "given_r"'),
)

BIRTH_LEVELS = (
    Level("same birth date", '"birth_digits_l" = "birth_digits_r"'),
    Level("month and day swapped",
          'substring("birth_digits_l", 1, 4) = substring("birth_digits_r", 1, 4) AND '
          'substring("birth_digits_l", 5, 2) = substring("birth_digits_r", 7, 2) AND '
          'substring("birth_digits_l", 7, 2) = substring("birth_digits_r", 5, 2)'),
    Level("one digit wrong", 'hamming("birth_digits_l", "birth_digits_r") = 1'),
    Level("lunar and solar calendars mixed (within 60 days, or the year off by one)",
          'abs(date_diff(\'day\', CAST("birth_date_l" AS DATE), CAST("birth_date_r" AS DATE)))'
          ' <= 60 OR (substring("birth_digits_l", 5, 4) = substring("birth_digits_r", 5, 4) AND '
          'abs(CAST(substring("birth_digits_l", 1, 4) AS INTEGER) - '
          'CAST(substring("birth_digits_r", 1, 4) AS INTEGER)) = 1)'),
)

ADDRESS_LEVELS = (
    Level("same address", '"address_normal_l" = "address_normal_r"'),
    Level("same flat, road written differently",
          '"address_dwelling_l" = "address_dwelling_r" AND '
          'jaccard("address_normal_l", "address_normal_r") >= 0.6'),
    Level("same road and door number", '"address_road_l" = "address_road_r"'),
)

PHONE_LEVELS = (
    Level("same phone", '"phone_l" = "phone_r"'),
    Level("same last eight digits", '"phone_tail_l" = "phone_tail_r"'),
)

PLACE_LEVELS = (
    Level("same grid cell", '"grid_code_l" = "grid_code_r"'),
    Level("same community", '"community_code_l" = "community_code_r"'),
)


def _comparison(name: str, null_column: str, levels: tuple[Level, ...],
                description: str) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name=name,
        comparison_description=description,
        comparison_levels=[
            cll.NullLevel(null_column),
            *(cll.CustomLevel(level.sql, label_for_charts=level.label) for level in levels),
            cll.ElseLevel(),
        ],
    )


def comparisons() -> list[ComparisonCreator]:
    """The comparisons of a registry linkage, in the order the review page shows them."""
    return [
        _comparison("name", "name_simplified", NAME_LEVELS, "name"),
        _comparison("birth", "birth_digits", BIRTH_LEVELS, "birth date"),
        cl.ExactMatch("sex"),
        _comparison("address", "address_normal", ADDRESS_LEVELS, "address"),
        _comparison("phone", "phone", PHONE_LEVELS, "phone"),
        _comparison("place", "community_code", PLACE_LEVELS, "grid cell and community"),
    ]


def blocking_rules() -> list[BlockingRuleCreator]:
    """Pairs worth scoring: each rule lets through one kind of error the others would miss.

    Every rule is an equality, so DuckDB joins on a hash; a pair found by two rules is scored
    once. Together they keep the pairs near linear in the records at a million residents.
    """
    return [
        block_on("name_pinyin", "substr(birth_digits, 1, 4)"),
        block_on("name_shape", "sex"),
        block_on("birth_digits", "surname"),
        block_on("birth_digits", "community_code"),
        block_on("phone"),
        block_on("address_dwelling", "address_road"),
    ]


def training_blocks() -> list[BlockingRuleCreator]:
    """EM sessions: each fixes some fields so the others' m-probabilities can be learnt."""
    return [block_on("birth_digits"), block_on("name_pinyin")]
