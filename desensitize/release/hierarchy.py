"""Generalisation hierarchies of quasi-identifiers (GB/T 37964 generalisation, full domain).

Each hierarchy has levels 0 (the value as it is) up to its top level, where every value
becomes `*` (the column is suppressed). A level applies to the whole column at once
(full-domain generalisation), so a reader of the release knows exactly what each value
means: "1940-1944" is a 5-year band everywhere in the file.

Missing values stay missing below the top level: "not recorded" is itself a value a
reader sees, and it is grouped like one.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPRESSED = "*"
TOP_NAME = "suppressed"


class Hierarchy(ABC):
    """Levels 0..top of one quasi-identifier; `generalise` returns "string" series."""

    kind: str
    names: tuple[str, ...]  # level names, the last one is TOP_NAME

    @property
    def top(self) -> int:
        return len(self.names) - 1

    def generalise(self, values: pd.Series, level: int) -> pd.Series:
        if not 0 <= level <= self.top:
            raise ValueError(f"{self.kind} hierarchy has levels 0..{self.top}, got {level}")
        if level == self.top and self.names[-1] == TOP_NAME:
            return pd.Series(SUPPRESSED, index=values.index, name=values.name, dtype="string")
        out = self._level(values, level)
        return pd.Series(out.array, index=values.index, name=values.name, dtype="string")

    @abstractmethod
    def _level(self, values: pd.Series, level: int) -> pd.Series:
        """Values at a level below the top (missing stays missing)."""

    def describe(self) -> list[str]:
        return list(self.names)


def _text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("string").str.lower()
    if values.dtype == object:
        # Booleans from an object column (nullable booleans read from Arrow) print lower-case.
        mapped = values.map(lambda v: str(v).lower() if isinstance(v, bool | np.bool_) else v)
        return mapped.astype("string")
    return values.astype("string")


@dataclass(frozen=True)
class FlatHierarchy(Hierarchy):
    """Categories, booleans and free strings: the value, or nothing."""

    kind: str = "category"
    names: tuple[str, ...] = ("value", TOP_NAME)

    def _level(self, values: pd.Series, level: int) -> pd.Series:
        return _text(values)


@dataclass(frozen=True)
class PrefixHierarchy(Hierarchy):
    """Digit codes cut to shorter prefixes: grid 15 -> community 12 -> street 9 -> county 6.

    A code that is not all digits (a department's own scheme the crosswalk did not map) has
    no known parent and becomes `*` above level 0; a code already shorter than a level's
    prefix (a community code among grid codes) is already that coarse and stays as it is."""

    lengths: tuple[int, ...] = (15, 12, 9, 6)
    kind: str = "grid_code"
    names: tuple[str, ...] = ("grid or community", "community", "street", "county", TOP_NAME)

    def __post_init__(self) -> None:
        if len(self.names) != len(self.lengths) + 1:
            raise ValueError("a prefix hierarchy names each length plus the top level")

    def _level(self, values: pd.Series, level: int) -> pd.Series:
        text = values.astype("string")
        if level == 0:
            return text
        digits = text.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
        cut = text.str.slice(0, self.lengths[level])
        return cut.where(digits | text.isna(), SUPPRESSED)


@dataclass(frozen=True)
class GroupHierarchy(Hierarchy):
    """Value -> its group (programme -> kind of programme, relation -> closeness) -> nothing.
    A value the groups do not name becomes `other`."""

    groups: tuple[tuple[str, str], ...] = ()
    kind: str = "groups"
    names: tuple[str, ...] = ("value", "group", TOP_NAME)

    def _level(self, values: pd.Series, level: int) -> pd.Series:
        text = _text(values)
        if level == 0:
            return text
        mapped = text.map(dict(self.groups), na_action="ignore")
        return mapped.where(text.isna() | mapped.notna(), "other").astype("string")


@dataclass(frozen=True)
class DateHierarchy(Hierarchy):
    """Day -> month -> quarter -> year -> nothing."""

    kind: str = "date"
    names: tuple[str, ...] = ("day", "month", "quarter", "year", TOP_NAME)

    def _level(self, values: pd.Series, level: int) -> pd.Series:
        dates = pd.to_datetime(values, errors="coerce")
        if level == 2:
            quarter = ((dates.dt.month - 1) // 3 + 1).astype("Int64").astype("string")
            return (dates.dt.strftime("%Y").astype("string") + "-Q" + quarter).astype("string")
        fmt = ("%Y-%m-%d", "%Y-%m", "", "%Y")[level]
        return dates.dt.strftime(fmt).astype("string")


@dataclass(frozen=True)
class ScaleHierarchy(Hierarchy):
    """Amounts and quantities: exact -> rounded down to growing bases -> a few wide bands
    (`cuts`, the last one open) -> nothing. Bands print half-open: "100-<200", "10000+"."""

    widths: tuple[float, ...] = (10, 100, 1000)
    cuts: tuple[float, ...] = (0, 500, 2000, 10000)
    kind: str = "amount"
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.names:
            names = ("exact", *(f"rounded to {_fmt(w)}" for w in self.widths),
                     "bands " + ", ".join(_fmt(c) for c in self.cuts) + "+", TOP_NAME)
            object.__setattr__(self, "names", names)

    def _level(self, values: pd.Series, level: int) -> pd.Series:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        if level == 0:
            return numbers.map(_exact, na_action="ignore").astype("string")
        if level <= len(self.widths):
            width = self.widths[level - 1]
            low = pd.Series(np.floor(numbers / width) * width, index=numbers.index)
            lo = low.map(_fmt, na_action="ignore").astype("string")
            hi = (low + width).map(_fmt, na_action="ignore").astype("string")
            return (lo + "-<" + hi).astype("string")
        edges = np.asarray(self.cuts, dtype=np.float64)
        labels = [f"{_fmt(a)}-<{_fmt(b)}" for a, b in itertools.pairwise(edges)]
        labels.append(f"{_fmt(edges[-1])}+")
        index = np.searchsorted(edges, numbers.to_numpy(), side="right") - 1
        out = pd.Series([labels[max(i, 0)] for i in index], index=numbers.index,
                        dtype="string")
        return out.where(numbers.notna(), pd.NA)


@dataclass(frozen=True)
class CountHierarchy(Hierarchy):
    """Counts of a person's records: exact -> bands (1, 2-3, 4-6, ...) -> wider -> nothing."""

    levels: tuple[tuple[int, ...], ...] = ((1, 2, 4, 7, 13, 25), (1, 4, 13))
    kind: str = "count"
    names: tuple[str, ...] = ("exact", "bands 1, 2-3, 4-6, 7-12, 13-24, 25+",
                              "bands 1-3, 4-12, 13+", TOP_NAME)

    def _level(self, values: pd.Series, level: int) -> pd.Series:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        if level == 0:
            return numbers.astype("Int64").astype("string")
        edges = self.levels[level - 1]
        labels = [f"{a}" if b - a == 1 else f"{a}-{b - 1}"
                  for a, b in itertools.pairwise(edges)] + [f"{edges[-1]}+"]
        index = np.searchsorted(np.asarray(edges), numbers.to_numpy(), side="right") - 1
        out = pd.Series([labels[max(i, 0)] for i in index], index=numbers.index,
                        dtype="string")
        return out.where(numbers.notna(), pd.NA)


@dataclass(frozen=True)
class BandHierarchy(Hierarchy):
    """Numbers -> bands of growing width aligned on `origin` -> nothing.

    Integers print as inclusive bands ("1940-1944"); other numbers as half-open bands
    ("0-<500"). Level 0 is the exact value."""

    widths: tuple[float, ...] = (5, 10, 20)
    origin: float = 0
    integer: bool = True
    kind: str = "number"
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.widths or any(w <= 0 for w in self.widths):
            raise ValueError("band widths must be positive")
        if not self.names:
            names = ("exact", *(f"bands of {_fmt(w)}" for w in self.widths), TOP_NAME)
            object.__setattr__(self, "names", names)
        if len(self.names) != len(self.widths) + 2:
            raise ValueError("a band hierarchy names the exact level, each width and the top")

    def _level(self, values: pd.Series, level: int) -> pd.Series:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        if level == 0:
            if self.integer:
                return numbers.astype("Int64").astype("string")
            return _text(values).where(numbers.notna(), pd.NA)
        width = self.widths[level - 1]
        low = pd.Series(np.floor((numbers - self.origin) / width) * width + self.origin,
                        index=numbers.index)
        if self.integer:
            lo = low.astype("Int64").astype("string")
            hi = (low + width - 1).astype("Int64").astype("string")
            return (lo + "-" + hi).astype("string")
        lo = low.map(_fmt, na_action="ignore").astype("string")
        hi = (low + width).map(_fmt, na_action="ignore").astype("string")
        return (lo + "-<" + hi).astype("string")


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _exact(number: float) -> str:
    """An amount or quantity as it is: at most two decimals, no trailing zeros."""
    return f"{number:.2f}".rstrip("0").rstrip(".")


def hierarchy_named(name: str, groups: dict[str, str] | None = None,
                    suppressible: bool = True) -> Hierarchy:
    """The hierarchy a contract names in a column's release classification. A sensitive column
    is never suppressed (l counts its values): its hierarchy stops below `*`."""
    if name == "groups":
        pairs = tuple(sorted((groups or {}).items()))
        if not suppressible:
            return GroupHierarchy(groups=pairs, names=("value", "group"))
        return GroupHierarchy(groups=pairs)
    known = {"date": DATE, "money": MONEY, "number": NUMBER, "count": SMALL_COUNT,
             "grid": GRID_CODE, "birth_year": BIRTH_YEAR, "group_size": GROUP_SIZE,
             "flat": CATEGORY}
    if name not in known:
        raise ValueError(f"unknown hierarchy {name}; use groups or one of {', '.join(known)}")
    return known[name]


BIRTH_YEAR = BandHierarchy(widths=(5, 10, 20), origin=0, integer=True, kind="birth_year",
                           names=("year", "5 years", "10 years", "20 years", TOP_NAME))
GRID_CODE = PrefixHierarchy()
DATE = DateHierarchy()
CATEGORY = FlatHierarchy()
# Household sizes: 1, 2, 3, ...; then 1-2, 3-4, ...; then 1-4, 5-8, ...
GROUP_SIZE = BandHierarchy(widths=(2, 4), origin=1, integer=True, kind="group_size",
                           names=("exact", "bands of 2", "bands of 4", TOP_NAME))
MONEY = ScaleHierarchy(widths=(10, 100, 1000), cuts=(0, 500, 2000, 10000), kind="amount")
NUMBER = ScaleHierarchy(widths=(5, 10, 50), cuts=(0, 10, 30, 100), kind="quantity")
# Small ordinal values (care level 0-5): exact, then pairs.
SMALL_COUNT = BandHierarchy(widths=(2,), origin=0, integer=True, kind="level",
                            names=("exact", "bands of 2", TOP_NAME))
RECORDS = CountHierarchy()
