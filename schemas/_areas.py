"""Administrative area codes by year, from python-stdnum's `cn/loc.dat`.

We read the data file ourselves instead of calling `stdnum.cn.ric`: its validator raises
KeyError on some codes and rejects real people whose area code was renamed or created after
they were born. Here an unknown code, or one that did not exist in the birth year, is only a
warning. The file is parsed once per process.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import numpy as np

_OPEN_END = 9999
_PROVINCE = re.compile(r"^(\d\d) ")
_COUNTY = re.compile(r'^\s+(\d{4}) county="([^"]*)"')
_SPAN = re.compile(r"^\[(\d*)-(\d*)\]")


@cache
def area_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted 6-digit codes with the first and last year each name of the code was in use.

    A code renamed over time has one row per name; a name without a bracketed span has
    always been in use (years 0..9999).
    """
    text = (resources.files("stdnum") / "cn" / "loc.dat").read_text(encoding="utf-8")
    rows: list[tuple[int, int, int]] = []
    province = ""
    for line in text.splitlines():  # once per process over ~7k lines, not per row of data
        if m := _PROVINCE.match(line):
            province = m.group(1)
        elif (m := _COUNTY.match(line)) and province:
            code = int(province + m.group(1))
            for name in m.group(2).split(","):
                span = _SPAN.match(name)
                start = int(span.group(1)) if span and span.group(1) else 0
                end = int(span.group(2)) if span and span.group(2) else _OPEN_END
                rows.append((code, start, end))
    rows.sort()
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy()


def area_code_known_in_year(codes: np.ndarray, years: np.ndarray) -> np.ndarray:
    """True where the 6-digit area code existed in that year."""
    table_codes, starts, ends = area_table()
    lo = np.searchsorted(table_codes, codes, side="left")
    hi = np.searchsorted(table_codes, codes, side="right")
    known = np.zeros(len(codes), dtype=bool)
    widest = int((hi - lo).max()) if len(codes) else 0
    for k in range(widest):  # a code has at most a handful of names: loop over those, not rows
        idx = lo + k
        has = idx < hi
        safe = np.where(has, idx, 0)
        known |= has & (starts[safe] <= years) & (years <= ends[safe])
    return known
