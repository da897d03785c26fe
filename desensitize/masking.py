"""Masking of direct identifiers for display, following the usual Chinese conventions.

    mask_id     110105194912310021 -> 110105********0021   (area code and last four)
    mask_name   张三 -> 张*, 欧阳娜娜 -> 欧***, 张 -> *       (family name's first character)
    mask_phone  13812345678 -> 138****5678                 (mobile: prefix and last four)
                010-12345678 -> 010-******78               (landline: area code, last two)

A masked value keeps the length of the original. Whenever a value is too short to show its
kept parts and still hide at least `_MIN_HIDDEN` characters, every character is masked.
Each function takes a series and returns a "string" series with the same index; <NA> stays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

_MIN_HIDDEN = 4
_MOBILE = r"1[3-9][0-9]{9}"
# Area codes: 010 and 02x have three digits, every other 0xxx four.
_AREA_3 = r"0(?:10|2[0-9])"
_AREA_4 = r"0[3-9][0-9]{2}"
_SEP = r"[-\s]"


def _mask(
    values: pd.Series, head: npt.NDArray[np.int64], tail: npt.NDArray[np.int64], min_hidden: int
) -> pd.Series:
    """Keep `head` leading and `tail` trailing characters per row, star the rest."""
    text = values.astype("string")
    length = text.str.len().fillna(0).to_numpy(dtype=np.int64)
    present = text.notna().to_numpy()
    hidden = length - head - tail
    too_short = hidden < min_hidden
    head = np.where(too_short, 0, head)
    tail = np.where(too_short, 0, tail)
    hidden = length - head - tail
    stars = np.asarray(["*" * n for n in range(int(length.max(initial=0)) + 1)], dtype=object)
    out = np.full(len(text), None, dtype=object)
    # Only a handful of (head, tail) shapes exist, so each is one vectorised slice.
    pairs = {(int(h), int(t)) for h, t in zip(head[present], tail[present], strict=True)}
    for h, t in pairs:
        sel = present & (head == h) & (tail == t)
        part = text[sel]
        first = part.str.slice(0, h)
        last = part.str.slice(-t) if t else pd.Series("", index=part.index, dtype="string")
        middle = pd.Series(stars[hidden[sel]], index=part.index, dtype="string")
        out[sel] = (first + middle + last).to_numpy(dtype=object)
    return pd.Series(out, index=values.index, name=values.name, dtype="string")


def _shape(n: int, head: int, tail: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    return np.full(n, head, dtype=np.int64), np.full(n, tail, dtype=np.int64)


def mask_id(values: pd.Series) -> pd.Series:
    """Resident ID: keep the 6-digit area code and the last 4 characters."""
    head, tail = _shape(len(values), 6, 4)
    return _mask(values, head, tail, _MIN_HIDDEN)


def mask_name(values: pd.Series) -> pd.Series:
    """Name: keep the first character only; a one-character name is fully masked."""
    head, tail = _shape(len(values), 1, 0)
    return _mask(values, head, tail, 1)


def _matches(text: pd.Series, pattern: str) -> npt.NDArray[np.bool_]:
    return text.str.match(pattern).fillna(False).to_numpy(dtype=bool)


def mask_phone(values: pd.Series) -> pd.Series:
    """Mobile: keep the first 3 and last 4 digits. Landline: keep the area code (and its
    separator) and the last 2 characters. Anything else: keep the last 2 characters."""
    text = values.astype("string")
    head, tail = _shape(len(text), 0, 2)
    for area, size in ((_AREA_3, 3), (_AREA_4, 4)):
        head[_matches(text, f"{area}[0-9]")] = size
        head[_matches(text, f"{area}{_SEP}")] = size + 1
    mobile = text.str.fullmatch(_MOBILE).fillna(False).to_numpy(dtype=bool)
    head[mobile], tail[mobile] = 3, 4
    return _mask(values, head, tail, _MIN_HIDDEN)
