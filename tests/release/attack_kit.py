"""The attacks on a release, written with plain pandas and numpy and independent of the
release code: generalise a department's own rows the way the report says the release did,
link them to the released file, count persons re-identified; recount k and l per person; and
solve the linear system of an aggregate table with the counts of the extract beside it."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

STAR = "*"


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _bands(level_name: str) -> tuple[list[float], list[str]]:
    """'bands 0, 500, 2000, 10000+' or 'bands 1, 2-3, 4-6, 25+' -> lower edges, labels."""
    tokens = level_name.removeprefix("bands ").split(", ")
    edges = [float(t.rstrip("+").split("-")[0]) for t in tokens]
    return edges, tokens


def generalise(values: pd.Series, q: dict[str, Any], groups: dict[str, str]) -> pd.Series:
    """One column at the level the report names (q is a quasi_identifiers entry)."""
    kind, name = q["kind"], q["level_name"]
    if name == "suppressed":
        return pd.Series(STAR, index=values.index, dtype=object)

    def each(f: Any) -> pd.Series:
        return values.map(lambda v: None if v is None or pd.isna(v) else f(v)).astype(object)

    if kind == "date":
        as_date = values.map(lambda v: None if v is None or pd.isna(v) else pd.Timestamp(v))
        fmt = {"day": lambda d: d.strftime("%Y-%m-%d"), "month": lambda d: d.strftime("%Y-%m"),
               "quarter": lambda d: f"{d.year}-Q{(d.month - 1) // 3 + 1}",
               "year": lambda d: str(d.year)}[name]
        return as_date.map(lambda d: None if pd.isna(d) else fmt(d)).astype(object)
    if kind in ("amount", "quantity"):
        if name == "exact":
            return each(lambda v: _number(float(v)))
        if name.startswith("rounded to "):
            width = float(name.removeprefix("rounded to "))
            return each(lambda v: f"{int(math.floor(float(v) / width) * width)}-<"
                                  f"{int(math.floor(float(v) / width) * width + width)}")
        edges, labels = _bands(name)
        cuts = [f"{int(a)}-<{int(b)}" for a, b in itertools.pairwise(edges)]
        cuts.append(f"{int(edges[-1])}+")
        return each(lambda v: cuts[max(int(np.searchsorted(edges, float(v), "right")) - 1, 0)])
    if kind == "count":
        if name == "exact":
            return each(lambda v: str(int(v)))
        edges, labels = _bands(name)
        return each(lambda v: labels[max(int(np.searchsorted(edges, float(v), "right")) - 1, 0)])
    if kind in ("level", "birth_year", "group_size"):
        if name in ("exact", "year"):
            return each(lambda v: str(int(v)))
        width = int(name.split()[-1]) if name.startswith("bands of") else int(name.split()[0])
        origin = 1 if kind == "group_size" else 0
        return each(lambda v: f"{(int(v) - origin) // width * width + origin}-"
                              f"{(int(v) - origin) // width * width + origin + width - 1}")
    if kind == "grid_code":
        length = {"grid or community": None, "community": 12, "street": 9, "county": 6}[name]
        if length is None:
            return each(str)
        return each(lambda v: str(v)[:length] if str(v).isdigit() else STAR)
    if kind == "groups":
        if name == "value":
            return each(str)
        return each(lambda v: groups.get(str(v), "other"))
    return each(lambda v: str(v).lower() if isinstance(v, bool | np.bool_) else str(v))


def signatures(frame: pd.DataFrame, person: str, columns: list[str]) -> pd.Series:
    """Per person: the frozenset of their rows over `columns` (missing as '')."""
    rows = frame[[person, *columns]].astype(object).where(frame[[person, *columns]].notna(), "")
    tuples = pd.Series(list(rows[columns].itertuples(index=False, name=None)), index=rows.index)
    return tuples.groupby(rows[person]).agg(frozenset)


def unique_correct(release_views: pd.Series, population_views: pd.Series) -> int:
    """Released persons (index: their true key) whose view exactly one person of the
    population has, that person being themselves."""
    holders = population_views.value_counts()
    count = 0
    for key, view in release_views.items():
        if holders.get(view, 0) == 1 and population_views.get(key) == view:
            count += 1
    return count


def determined(unknown: list[tuple[int, int]], equations: list[list[tuple[tuple[int, int],
               float]]]) -> set[tuple[int, int]]:
    """Unknown cells whose value the equations fix: the unit vector of the cell lies in the
    row space of the equations restricted to the unknowns."""
    if not unknown:
        return set()
    index = {c: n for n, c in enumerate(unknown)}
    rows = []
    for eq in equations:
        row = np.zeros(len(unknown))
        for cell, coefficient in eq:
            if cell in index:
                row[index[cell]] = coefficient
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    system = np.vstack(rows)
    rank = np.linalg.matrix_rank(system)
    found = set()
    for cell, n in index.items():
        unit = np.zeros(len(unknown))
        unit[n] = 1
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.add(cell)
    return found
