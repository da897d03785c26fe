"""Vectorised parsers from cleaned text (stripped, NFKC, empty = null) to contract types.

Each parser takes an Arrow string array and returns the typed Arrow array plus, per rule, a
numpy mask of the cells that failed (those cells are null in the result). A clean column
costs one Arrow kernel; only a column with odd cells pays for regexes. Money is exact:
text -> decimal128 -> integer fen, never through a float.
"""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Masks = dict[str, np.ndarray]

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_GROUPED = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"  # 1,234,567.89
_CURRENCY = r"^[¥$]\s*|\s*元$"
_EXP = np.frombuffer(b"eE", dtype=np.uint8)
_NOT_PLAIN = np.frombuffer(b"eEnNiI,", dtype=np.uint8)
MAX_MONEY_FEN = 10**15  # ten trillion yuan: anything larger is a typo or a misplaced ID
MAX_INTEGER = 10**15

TRUE_WORDS = ["true", "1", "yes", "y", "是"]
FALSE_WORDS = ["false", "0", "no", "n", "否"]
# ISO dates and date-times, accepted after the mapping's own formats (time of day dropped).
ISO_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                 "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"]
_DIRECTIVES = {"%Y": r"\d{4}", "%m": r"\d{1,2}", "%y": r"\d{2}", "%H": r"\d{1,2}",
               "%M": r"\d{1,2}", "%S": r"\d{1,2}", "%%": "%"}


def text_view(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a string array, zero-copy: value i is bytes[o[i]-o[0]:o[i+1]-o[0]]."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data_buf = arr.buffers()[2]
    if data_buf is None or len(offsets) < 2:
        return offsets, np.empty(0, dtype=np.uint8)
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0]:offsets[-1]]
    return offsets, data


def rows_of(offsets: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which values the byte positions (relative to offsets[0]) fall in, as a row mask."""
    mask = np.zeros(len(offsets) - 1, dtype=bool)
    mask[np.searchsorted(offsets - offsets[0], positions, side="right") - 1] = True
    return mask


def mask_of(arr: pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy, null = False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def valid_of(arr: pa.Array) -> np.ndarray:
    return mask_of(pc.is_valid(arr)) if arr.null_count else np.ones(len(arr), dtype=bool)


def null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr) if mask.any() else arr


def _unscaled(arr: pa.Array, scale: int) -> np.ndarray | None:
    """Plain decimal texts as int64 units of 10**-scale, or None when any cell needs care
    (exponent, separators, more decimals than `scale`, not a number, too many digits)."""
    _, data = text_view(arr)
    if np.isin(data, _EXP).any():  # Arrow reads "1e3"; a department does not mean it
        return None
    try:
        dec = pc.cast(arr, pa.decimal128(18, scale))
    except pa.ArrowInvalid:
        return None
    words = np.frombuffer(dec.buffers()[1], dtype=np.int64)
    words = words[2 * dec.offset:2 * (dec.offset + len(dec))]
    return words[0::2].copy()  # 18 digits always fit the low 64 bits


def _unscaled_slow(arr: pa.Array, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(units, not a number, more decimals than `scale`) for a column with odd cells:
    currency signs, thousands separators, exponents, typos."""
    text = pc.replace_substring_regex(arr, _CURRENCY, "")
    grouped = pc.match_substring_regex(text, _GROUPED)
    text = pc.if_else(grouped, pc.replace_substring(text, ",", ""), text)
    invalid = ~mask_of(pc.match_substring_regex(text, _NUMBER)) & valid_of(arr)
    # Zeros after the decimal point change nothing: "12.3400" is 12.34.
    text = pc.if_else(pc.match_substring(text, "."), pc.utf8_rtrim(text, characters="0"), text)
    text = null_where(text, invalid)
    digits = pc.utf8_length(pc.utf8_ltrim(pc.replace_substring_regex(text, r"\..*$", ""),
                                          characters="+-0"))
    too_long = mask_of(pc.greater(digits, 15)) & ~invalid
    decimals = mask_of(pc.match_substring_regex(text, rf"\.\d{{{scale + 1},}}$")) & ~invalid
    text = null_where(text, too_long | decimals)
    units = _unscaled(text, scale)
    if units is None:  # Arrow still refuses a cell (e.g. many leading zeros): exact, per cell
        units = np.array([0 if v is None else int(Decimal(v).scaleb(scale))
                          for v in text.to_pylist()], dtype=np.int64)
    return units, invalid | too_long, decimals


def _units(arr: pa.Array, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(units, valid result, not a number, too many decimals)."""
    units = _unscaled(arr, scale)
    if units is not None:
        none = np.zeros(len(arr), dtype=bool)
        return units, valid_of(arr), none, none
    units, invalid, decimals = _unscaled_slow(arr, scale)
    return units, valid_of(arr) & ~invalid & ~decimals, invalid, decimals


def parse_money(arr: pa.Array, unit: str | None) -> tuple[pa.Array, Masks]:
    """Yuan (default) or fen text -> int64 fen. Rules: type:money, money:precision."""
    units, ok, invalid, decimals = _units(arr, 0 if unit == "fen" else 2)
    too_big = ok & (np.abs(units) >= MAX_MONEY_FEN)
    ok &= ~too_big
    return pa.array(units, pa.int64(), mask=~ok), {"type:money": invalid | too_big,
                                                   "money:precision": decimals}


def parse_integer(arr: pa.Array) -> tuple[pa.Array, Masks]:
    """ "3" and "3.0" -> 3; "3.5", "abc" -> type:integer."""
    units, ok, invalid, decimals = _units(arr, 0)
    too_big = ok & (np.abs(units) >= MAX_INTEGER)
    ok &= ~too_big
    return pa.array(units, pa.int64(), mask=~ok), {"type:integer": invalid | decimals | too_big}


def parse_decimal(arr: pa.Array) -> tuple[pa.Array, Masks]:
    """Plain or grouped decimal text -> float64. Rule: type:decimal."""
    _, data = text_view(arr)
    if not np.isin(data, _NOT_PLAIN).any():  # no exponent, nan, inf or separator: one cast
        try:
            return pc.cast(arr, pa.float64()), {"type:decimal": np.zeros(len(arr), dtype=bool)}
        except pa.ArrowInvalid:
            pass
    grouped = pc.match_substring_regex(arr, _GROUPED)
    text = pc.if_else(grouped, pc.replace_substring(arr, ",", ""), arr)
    invalid = ~mask_of(pc.match_substring_regex(text, _NUMBER)) & valid_of(arr)
    return pc.cast(null_where(text, invalid), pa.float64()), {"type:decimal": invalid}


def parse_boolean(arr: pa.Array) -> tuple[pa.Array, Masks]:
    words = TRUE_WORDS + FALSE_WORDS
    truth = pa.array([True] * len(TRUE_WORDS) + [False] * len(FALSE_WORDS))
    pos = pc.index_in(arr, value_set=pa.array(words))
    if pos.null_count > arr.null_count:  # "TRUE", "Yes": only then pay for lower-casing
        pos = pc.index_in(pc.utf8_lower(arr), value_set=pa.array(words))
    return pc.take(truth, pos), {"type:boolean": valid_of(arr) & ~valid_of(pos)}


def _format_regex(fmt: str, day: str) -> str | None:
    """A regex for a format of %Y %m %d %y %H %M %S and literals (None for other directives),
    with `day` as the pattern of %d."""
    out = []
    for part in re.split(r"(%.)", fmt):
        if len(part) == 2 and part.startswith("%"):
            if part == "%d":
                out.append(day)
            elif part in _DIRECTIVES:
                out.append(_DIRECTIVES[part])
            else:
                return None
        else:
            out.append(re.escape(part))
    return "^" + "".join(out) + "$"


def _strptime(sub: pa.Array, fmt: str) -> np.ndarray:
    """datetime64[s] (NaT where `fmt` does not fit). Arrow's strptime rolls 2024-02-30 over
    to 2024-03-01; such a result (day 1-3 from a text whose day is 29-31) is refused."""
    late = _format_regex(fmt, r"(?:29|30|31)")
    if late is None:  # a directive Arrow may read differently: let pandas decide, strictly
        parsed = pd.to_datetime(pd.Series(sub.to_pandas()), format=fmt, errors="coerce")
        return np.asarray(parsed.to_numpy(dtype="datetime64[s]"))
    out = pc.strptime(sub, format=fmt, unit="s", error_is_null=True)
    values = out.to_numpy(zero_copy_only=False).astype("datetime64[s]")
    if "%d" in fmt:
        early = mask_of(pc.less_equal(pc.day(out), 3))
        if early.any():
            tail = re.fullmatch(r"[^%]*(?:%[^d][^%]*)*%d([^%]*)", fmt)
            if tail:  # the day ends the text (bar a literal): ends_with beats a regex
                late_day = np.zeros(len(sub), dtype=bool)
                for day in ("29", "30", "31"):
                    late_day |= mask_of(pc.ends_with(sub, day + tail.group(1)))
            else:
                late_day = mask_of(pc.match_substring_regex(sub, late))
            values[early & late_day] = np.datetime64("NaT")
    return values


def _iso_dates(arr: pa.Array) -> pa.Array | None:
    """A column of nothing but YYYY-MM-DD, read by Arrow's strict ISO cast; else None."""
    offsets, data = text_view(arr)
    valid = valid_of(arr)
    starts = (offsets[:-1] - offsets[0])[valid]
    if not len(starts) or not (np.diff(offsets)[valid] == 10).all():
        return None
    if not ((data[starts + 4] == ord("-")) & (data[starts + 7] == ord("-"))).all():
        return None
    try:
        return pc.cast(pc.cast(arr, pa.date32()), pa.timestamp("s"))
    except pa.ArrowInvalid:  # an impossible date somewhere: the general path names it
        return None


def _iso_rest(rest: pa.Array) -> np.ndarray:
    """ISO 8601 date-times with fractions or a zone, as the local date written."""
    text = pd.Series(rest.to_pandas(), dtype="string")
    text = text.str.replace(r"(Z|[+-]\d{2}:?\d{2})$", "", regex=True)
    iso = np.asarray(text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d").fillna(False), dtype=bool)
    parsed = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[s]")
    if iso.any():
        found = pd.to_datetime(text[iso], format="ISO8601", errors="coerce")
        parsed[iso] = found.to_numpy(dtype="datetime64[s]")
    return parsed


def parse_date(arr: pa.Array, formats: list[str]) -> tuple[pa.Array, Masks]:
    """Formats tried in order on the cells still unparsed, then ISO dates and date-times;
    the time of day is dropped. Result: timestamp[s] at midnight. Rule: type:date."""
    n = len(arr)
    iso = _iso_dates(arr)  # ISO is always accepted, and the usual case: one strict cast
    if iso is not None:
        return iso, {"type:date": np.zeros(n, dtype=bool)}
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    todo = valid_of(arr)
    tried = [*formats, *(f for f in ISO_FORMATS if f not in formats)]
    for fmt in [*tried, None]:
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        sub = arr if len(idx) == n else arr.take(pa.array(idx))
        parsed = _iso_rest(sub) if fmt is None else _strptime(sub, fmt)
        ok = ~np.isnat(parsed)
        out[idx[ok]] = parsed[ok]
        todo[idx[ok]] = False
    days = out.astype("datetime64[D]").astype("datetime64[s]")
    return pa.array(days, pa.timestamp("s")), {"type:date": todo}


def parse_tags(arr: pa.Array, separator: str | None) -> pa.Array:
    """The department's separator -> ';', tokens stripped, empty tokens dropped."""
    seps = ";" if not separator else f"{re.escape(separator)}|;"
    text = pc.replace_substring_regex(arr, rf"\s*(?:{seps})\s*", ";")
    text = pc.replace_substring_regex(text, r";{2,}", ";")
    text = pc.utf8_trim(text, characters=";")
    return null_where(text, mask_of(pc.equal(text, "")))
