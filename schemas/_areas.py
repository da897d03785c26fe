"""Administrative area codes by year, from python-stdnum's `cn/loc.dat`.

We read the data file ourselves instead of calling `stdnum.cn.ric`: its validator raises
KeyError on some codes and rejects real people whose area code was renamed or created after
they were born. Here only a code that never existed is a warning: an ID carries the code of
the place that issued it, often long after birth. The file is parsed once per process.
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


def area_code_ever_known(codes: np.ndarray) -> np.ndarray:
    """True where the 6-digit area code exists, or existed at some time."""
    table_codes = area_table()[0]
    pos = np.searchsorted(table_codes, codes, side="left")
    return (pos < len(table_codes)) & (table_codes[np.minimum(pos, len(table_codes) - 1)]
                                       == codes)
