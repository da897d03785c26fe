"""Vectorised text building for the demo extracts (pyarrow compute, no loop per row).

A million residents times a dozen columns is too many Python strings to build one by one, so
every column is composed from numbers and small pools with arrow kernels. Fixed-width digit
strings (ID numbers, codes) are built as a byte matrix and wrapped as an arrow buffer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FULLWIDTH_DIGITS = "０１２３４５６７８９"


def digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) matrix of the decimal digits of non-negative ints, most significant first.

    Integer division is slow on millions of values: call this on small arrays of distinct
    values (areas, birth dates, sequences) and index the result."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((len(v), width), dtype=np.uint8)
    for pos in range(width - 1, -1, -1):
        out[:, pos] = v % 10
        v //= 10
    return out


def zfill(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of non-negative ints (e.g. community numbers)."""
    return pc.utf8_lpad(as_text(values), width, "0")


def as_text(values: np.ndarray) -> pa.Array:
    """Plain decimal strings of ints, no padding."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, sep)


def take(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    return pc.take(pool, pa.array(np.asarray(idx, dtype=np.int64)))


def where(mask: np.ndarray, yes: pa.Array | str | None, no: pa.Array | str | None) -> pa.Array:
    """pc.if_else with a numpy mask; None stands for a null string."""
    def arg(x: pa.Array | str | None) -> pa.Array | pa.Scalar:
        if x is None:
            return pa.scalar(None, pa.string())
        return pa.scalar(x, pa.string()) if isinstance(x, str) else x

    return pc.if_else(pa.array(mask, pa.bool_()), arg(yes), arg(no))


def replace_at(arr: pa.Array, idx: np.ndarray, values: pa.Array) -> pa.Array:
    """`arr` with the rows `idx` (sorted, unique) replaced by `values` (same order)."""
    if len(idx) == 0:
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[idx] = True
    order = np.argsort(idx, kind="stable")
    return pc.replace_with_mask(arr, pa.array(mask), pc.take(values, pa.array(order)))


def fullwidth_digits(arr: pa.Array) -> pa.Array:
    """Every ASCII digit replaced by its full-width form (as typed by some IMEs)."""
    for ascii_digit, wide in zip("0123456789", FULLWIDTH_DIGITS, strict=True):
        arr = pc.replace_substring(arr, ascii_digit, wide)
    return arr


def tags(flags: dict[str, np.ndarray], sep: str) -> pa.Array:
    """Labels whose flag is set, joined by `sep`; null when no flag is set."""
    # Built from non-null fragments: pyarrow's null_handling="skip" drops all-null rows.
    n = len(next(iter(flags.values())))
    fragments = [where(flag, label + sep, "") for label, flag in flags.items()]
    joined = join(*fragments) if len(fragments) > 1 else fragments[0]
    trimmed = pc.utf8_rtrim(joined, characters=sep)
    empty = np.zeros(n, dtype=bool) | to_numpy_bool(pc.equal(pc.utf8_length(trimmed), 0))
    return where(empty, None, trimmed)


def to_numpy_bool(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)


def date32(days: np.ndarray) -> pa.Array:
    """datetime64[D] values as an arrow date32 array (NaT -> null).

    Built from the day numbers: pa.array() on datetime64 pays a second of set-up on first use."""
    d = np.asarray(days, dtype="datetime64[D]")
    nat = np.isnat(d)
    ints = np.where(nat, 0, d.view(np.int64)).astype(np.int32)
    return pa.array(ints, mask=nat if nat.any() else None).view(pa.date32())


def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day ints of datetime64[D] values (NaT not allowed)."""
    arr = date32(days)
    return (pc.year(arr).to_numpy(), pc.month(arr).to_numpy(), pc.day(arr).to_numpy())


def iso_dates(days: np.ndarray) -> pa.Array:
    """YYYY-MM-DD strings; NaT becomes null."""
    return pc.cast(date32(days), pa.string())


def compact_dates(days: np.ndarray) -> pa.Array:
    """YYYYMMDD strings (no NaT expected)."""
    return pc.replace_substring(iso_dates(days), "-", "")


DATE_STYLES = ("iso", "slash", "compact", "chinese")


def styled_dates(days: np.ndarray, style: np.ndarray) -> pa.Array:
    """Dates written in the style index of each row (see DATE_STYLES): the mixed formats of
    hand-kept registers: 1950-03-02, 1950/3/2, 19500302, 1950年3月2日."""
    order = np.argsort(style, kind="stable")  # rows grouped by style, each group formatted once
    bounds = np.searchsorted(style[order], np.arange(len(DATE_STYLES) + 1))
    parts = []
    for k in range(len(DATE_STYLES)):
        sub = days[order[bounds[k]:bounds[k + 1]]]
        if k == 0:
            parts.append(iso_dates(sub))
        elif k == 2:
            parts.append(compact_dates(sub))
        else:
            y, m, d = (as_text(part) for part in date_parts(sub))
            parts.append(join(y, m, d, sep="/") if k == 1 else join(y, "年", m, "月", d, "日"))
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return pc.take(pa.concat_arrays(parts), pa.array(inverse))


def constant(text: str, n: int) -> pa.Array:
    """The same string n times (e.g. the extract's as-of date on every row)."""
    return pa.repeat(pa.scalar(text, pa.string()), n)


def joined_bytes(arr: pa.Array) -> bytes:
    """All strings of a null-free string array concatenated, straight from the arrow buffer."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1,
                            offset=arr.offset * 4)
    data = arr.buffers()[2]
    if data is None:
        return b""
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0])).to_pybytes()
