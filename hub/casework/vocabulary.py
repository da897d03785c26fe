"""The categories of the loops (vocabulary.yaml): checked on the way in, labelled on the way out."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from hub.casework.errors import ItemInvalid

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yaml")


@cache
def vocabulary() -> dict[str, dict[str, dict[str, str]]]:
    data: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(
        VOCABULARY_FILE.read_text(encoding="utf-8"))
    return data


def codes(group: str) -> list[str]:
    return list(vocabulary()[group])


def check(group: str, field: str, code: str) -> str:
    """`code` if it is one of `group`'s categories, else ItemInvalid naming the field."""
    if code not in vocabulary()[group]:
        raise ItemInvalid(field, f"not one of the categories ({', '.join(codes(group))})")
    return code


def check_all(group: str, field: str, values: list[str], at_least: int = 1) -> list[str]:
    if len(values) < at_least:
        raise ItemInvalid(field, f"choose at least {at_least}")
    return sorted({check(group, field, v) for v in values})


def term(group: str, code: object, language: Literal["zh", "en"] = "zh") -> str:
    entry = vocabulary().get(group, {}).get(str(code))
    return entry[language] if entry else str(code)
