"""Typing errors planted in department records, with the truth kept, to measure linkage.

Each kind is an error that real registers show: a homophone or similar-shape character, a
traditional form, a dropped or added character of the given name, a swapped month and day,
one wrong digit, a lunar birthday written as solar, an address written another way. A
planted record keeps the index of the resident it belongs to, so precision and recall can be
counted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from hub.linkage.names import shape_map, split_surname, to_simplified

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@cache
def _homophones(chars: tuple[str, ...]) -> dict[str, list[str]]:
    from pypinyin import lazy_pinyin

    by_sound: dict[str, list[str]] = defaultdict(list)
    for char in chars:
        by_sound[lazy_pinyin(char)[0]].append(char)
    return {c: [o for o in by_sound[lazy_pinyin(c)[0]] if o != c] for c in chars}


@cache
def _shape_groups() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for char, head in shape_map().items():
        groups[head].append(char)
    return {c: [o for o in groups[head] if o != c] for c, head in shape_map().items()}


def _replace_given(name: str, rng: np.random.Generator,
                   options: Callable[[str], list[str]]) -> str | None:
    surname, given = split_surname(name)
    spots = [i for i, c in enumerate(given) if options(c)]
    if not spots:
        return None
    i = int(rng.choice(spots))
    pick = options(given[i])
    return surname + given[:i] + pick[int(rng.integers(len(pick)))] + given[i + 1:]


def homophone(name: str, rng: np.random.Generator, pool: Sequence[str]) -> str | None:
    table = _homophones(tuple(sorted(set(pool))))
    return _replace_given(name, rng, lambda c: table.get(c, []))


def similar_shape(name: str, rng: np.random.Generator) -> str | None:
    table = _shape_groups()
    return _replace_given(name, rng, lambda c: table.get(c, []))


def traditional(name: str) -> str | None:
    import opencc

    converted = str(opencc.OpenCC("s2t").convert(name))
    return converted if converted != name and to_simplified(converted) == name else None


def dropped_or_added(name: str, rng: np.random.Generator, pool: Sequence[str]) -> str:
    surname, given = split_surname(name)
    if len(given) >= 2 and rng.random() < 0.5:
        i = int(rng.integers(len(given)))
        return surname + given[:i] + given[i + 1:]
    i = int(rng.integers(len(given) + 1))
    return surname + given[:i] + pool[int(rng.integers(len(pool)))] + given[i:]


def month_day_swapped(born: dt.date) -> dt.date | None:
    if born.day > 12 or born.day == born.month:
        return None
    return born.replace(month=born.day, day=born.month)


def one_digit_wrong(born: dt.date, rng: np.random.Generator) -> dt.date | None:
    digits = list(born.strftime("%Y%m%d"))
    for _ in range(10):
        pos = int(rng.choice([3, 5, 7]))  # last digit of year, month or day: a plausible slip
        trial = digits.copy()
        trial[pos] = str((int(trial[pos]) + int(rng.integers(1, 10))) % 10)
        try:
            return dt.datetime.strptime("".join(trial), "%Y%m%d").date()
        except ValueError:
            continue
    return None


def lunar_slip(born: dt.date, rng: np.random.Generator) -> dt.date:
    """The lunar birthday written as solar: some 20-50 days earlier, the year off at New Year."""
    return born - dt.timedelta(days=int(rng.integers(20, 51)))


def address_rewritten(address: str, rng: np.random.Generator) -> str:
    choice = int(rng.integers(3))
    if choice == 0:
        return address.translate(FULLWIDTH)
    if choice == 1:
        return address.replace("号楼", "栋").replace("室", "")
    return address.replace("号", "號", 1)
