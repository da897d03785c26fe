"""Chinese names reduced to the forms in which two spellings of one person agree.

A name typed twice goes wrong in predictable ways: a homophone (王丽 / 王莉), a character of
similar shape (王己 / 王已), a traditional form (張偉 / 张伟), a dropped or inserted character
in a given name, full-width spaces, and minority names whose middle dot is written as `·`, `•`,
`.` or left out. Each form below is computed once per record, so that the comparisons in
`hub.linkage.comparisons` are plain equality tests in SQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

# Two-character surnames that would otherwise split as surname + given name.
COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "令狐", "端木", "西门", "独孤", "南宫", "申屠", "澹台", "公羊",
    "太叔", "呼延", "万俟", "闻人", "赫连", "钟离", "百里", "东郭", "拓跋",
))

# Every dot-like character that stands between the parts of a transliterated name.
_MIDDLE_DOTS = re.compile(r"[·•・‧∙⋅.．]")
_NOT_HAN_OR_DOT = re.compile(r"[^\u3400-\u9fff\U00020000-\U0002ffff·]")
_SHAPES_FILE = Path(__file__).with_name("similar_shapes.yaml")


@dataclass(frozen=True)
class NameForms:
    """The comparable forms of one name; every field is None when the name is unusable."""

    simplified: str | None
    """Simplified characters, no spaces, middle dots unified to `·`."""
    undotted: str | None
    """As `simplified` without middle dots: 阿依古丽·买买提 and 阿依古丽买买提 agree here."""
    pinyin: str | None
    """Toneless pinyin syllables joined by spaces: homophones agree here."""
    shape_key: str | None
    """Each character replaced by the first of its similar-shape group."""
    surname: str | None
    given: str | None


EMPTY = NameForms(None, None, None, None, None, None)


@cache
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters (張, 號) to simplified (张, 号); everything else unchanged."""
    return str(_converter().convert(text))  # type: ignore[attr-defined]


@cache
def _pinyin() -> object:
    """pypinyin with its per-word conversion kept: a city's names are nearly all distinct,
    but they are made of a few thousand characters and phrases, and converting those (not
    segmenting the name) is most of pypinyin's time. The conversion of a word is a pure
    function of its arguments, so a kept result is the very one pypinyin would make."""
    from pypinyin import Style
    from pypinyin.converter import DefaultConverter
    from pypinyin.core import Pinyin

    class KeptConverter(DefaultConverter):
        def __init__(self) -> None:
            super().__init__()
            self._kept: dict[tuple[object, ...], list[list[str]]] = {}

        def convert(self, words: str, style: Style, heteronym: bool,
                    errors: Callable[[str], str] | str, strict: bool = True,
                    **kwargs: Any) -> list[list[str]]:
            if kwargs:
                return super().convert(words, style, heteronym, errors, strict, **kwargs)
            key = (words, style, heteronym, errors, strict)
            kept = self._kept.get(key)
            if kept is None:
                kept = self._kept[key] = super().convert(words, style, heteronym, errors,
                                                         strict)
            return [list(item) for item in kept]

    return Pinyin(KeptConverter())


@cache
def shape_map() -> dict[str, str]:
    """Character -> the representative of its similar-shape group."""
    groups = yaml.safe_load(_SHAPES_FILE.read_text(encoding="utf-8"))["groups"]
    mapping: dict[str, str] = {}
    for group in groups:
        for char in group:
            mapping.setdefault(char, group[0])
    return mapping


def simplify(raw: str) -> str:
    """Traditional to simplified, full-width to half-width, spaces out, one kind of middle dot."""
    text = unicodedata.normalize("NFKC", raw)
    text = _MIDDLE_DOTS.sub("·", text)
    text = to_simplified(text)
    return _NOT_HAN_OR_DOT.sub("", text).strip("·")


def split_surname(name: str) -> tuple[str, str]:
    """(surname, given name); a transliterated name with a dot keeps its first part as given."""
    if "·" in name:
        first, _, rest = name.partition("·")
        return rest, first
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def name_forms(raw: object) -> NameForms:
    """All comparable forms of one name, or EMPTY when nothing Chinese is left of it."""
    if not isinstance(raw, str):
        return EMPTY
    simplified = simplify(raw)
    undotted = simplified.replace("·", "")
    if not undotted:
        return EMPTY
    syllables = [s for s in _pinyin().lazy_pinyin(undotted)  # type: ignore[attr-defined]
                 if s.isascii() and s.isalpha()]
    shapes = shape_map()
    surname, given = split_surname(simplified)
    return NameForms(
        simplified=simplified,
        undotted=undotted,
        pinyin=" ".join(syllables) or None,
        shape_key="".join(shapes.get(char, char) for char in undotted),
        surname=surname or None,
        given=given.replace("·", "") or None,
    )
